//! Prints what each operation of an input did, the invariant checks' verdicts and the slow
//! steps: `cargo run --example trace -- FILE`.
use oxv_fuzz_harness::{Options, check, input, route, world::World};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: trace FILE");
    let data = std::fs::read(&path).expect("read the input");
    let mut world = World::new(Options::lenient());
    let mut report = oxv_fuzz_harness::Report::default();
    for (i, op) in input::decode(&data)
        .iter()
        .take(oxv_fuzz_harness::MAX_OPS)
        .enumerate()
    {
        let start = Instant::now();
        let before = check::FdSnapshot::take(&world);
        // The operation first: if it never returns, the last line says which it was.
        println!("{i:3} {op:?}");
        let effect = route::apply(&mut world, op, &mut report);
        println!("    -> {effect:?}");
        if let Ok(effect) = &effect {
            if let Err(e) = check::all(&mut world, Some((&before, effect))) {
                println!("    !! {e}");
            }
        }
        let took = start.elapsed();
        if took.as_millis() >= 10 {
            println!("    took {took:?}");
        }
    }
    println!("{report:?}");
    let start = Instant::now();
    let verdict = world.teardown();
    println!("teardown: {verdict:?} in {:?}", start.elapsed());
}
