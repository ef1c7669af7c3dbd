//! The Kubernetes object model: API types, manifests, selectors, quantities, defaults, validation.
