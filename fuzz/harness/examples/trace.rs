//! Prints what each operation of an input did: `cargo run --example trace -- FILE`.
use oxv_fuzz_harness::{Options, input, route, world::World};

fn main() {
    let path = std::env::args().nth(1).expect("usage: trace FILE");
    let data = std::fs::read(&path).expect("read the input");
    let mut world = World::new(Options::lenient());
    let mut report = oxv_fuzz_harness::Report::default();
    for (i, op) in input::decode(&data).iter().enumerate() {
        let effect = route::apply(&mut world, op, &mut report);
        println!("{i:3} {op:?}\n    -> {effect:?}");
    }
    println!("{report:?}");
}
