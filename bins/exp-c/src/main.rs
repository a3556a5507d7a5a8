//! exp-c: the traversal client (LAN side). All behaviour lives in the crates; this picks the role.

fn main() -> std::process::ExitCode {
    exp_runtime::cli::main(exp_runtime::Role::Client)
}
