//! `sonde check FILE|URL|-`: reads the exposition and prints
//! `sonde_check`'s findings.

use sonde_check::check;

/// Runs the check on a file, URL or `-` (stdin); returns the exit code.
pub(crate) fn run(target: &str) -> u8 {
    let text = if target.starts_with("http://") || target.starts_with("https://") {
        match ureq::get(target).header("Accept", "text/plain;version=0.0.4").call() {
            Ok(mut r) => match r.body_mut().read_to_string() {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("sonde check: cannot read {target}: {e}");
                    return 2;
                }
            },
            Err(e) => {
                eprintln!("sonde check: cannot fetch {target}: {e}");
                return 2;
            }
        }
    } else if target == "-" {
        let mut t = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut t) {
            eprintln!("sonde check: cannot read stdin: {e}");
            return 2;
        }
        t
    } else {
        match std::fs::read_to_string(target) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("sonde check: cannot read {target}: {e}");
                return 2;
            }
        }
    };
    let findings = check(&text);
    for f in &findings {
        println!("{target}:{}: {}", f.line, f.message);
    }
    println!("sonde check: {} line(s), {} finding(s)", text.lines().count(), findings.len());
    u8::from(!findings.is_empty())
}
