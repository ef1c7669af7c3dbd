// The simulation allocates and frees many short-lived objects per event (requests, watch
// events, object copies); mimalloc's free lists cost less than glibc's consolidating malloc.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(kubesim::cli::main());
}
