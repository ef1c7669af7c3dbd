// The simulation allocates and frees many short-lived objects per event (requests, watch
// events, object copies); mimalloc's free lists cost less than glibc's consolidating malloc.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    #[cfg(feature = "mimalloc")]
    keep_freed_memory();
    std::process::exit(kubesim::cli::main());
}

/// mimalloc returns memory it has not reused for a second (wall time) to the OS; the
/// simulation frees and reallocates the same few hundred MB all the time, so that memory came
/// straight back as fresh transparent huge pages the kernel zeroes (`clear_page_erms`, ~5% of
/// the steady state's CPU). Kept instead: peak RSS is unchanged, RSS no longer falls after a
/// peak. `MIMALLOC_PURGE_DELAY` in the environment still decides when set.
#[cfg(feature = "mimalloc")]
fn keep_freed_memory() {
    // `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (libmimalloc-sys 0.1.49 names it
    // only with its `extended` feature, which would rebuild the allocator for one constant).
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    unsafe extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc's documented option setter, called before any other thread exists.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}
