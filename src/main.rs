fn main() {
    println!("kubesim: under construction");
}
