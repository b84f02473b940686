fn main() {
    let url = std::env::args().nth(1).unwrap();
    let mut e = curlew::Easy::new(&url).unwrap();
    e.verbose(true);
    let r = e.perform();
    println!("{:?} {:?}", r, e.info());
    let r = e.perform();
    println!("{:?}", r);
}
