//! The engine: virtual time, one event queue, seeded randomness, hosts, actors, network, disk, faults, trace.
