//! `--route LISTEN=UPSTREAM` values. A route that parses must print back to
//! a string that parses to the same route, and an error must quote the
//! input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy::route::Route;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<Route>() {
        Ok(route) => {
            let printed = route.to_string();
            let reparsed: Route = printed
                .parse()
                .unwrap_or_else(|err| panic!("{printed:?} does not parse again: {err}"));
            assert_eq!(reparsed, route, "round trip through {printed:?}");
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(&format!("{text:?}")), "{message}");
        }
    }
});
