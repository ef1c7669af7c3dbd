fn main() {
    std::process::exit(kubesim::cli::main());
}
