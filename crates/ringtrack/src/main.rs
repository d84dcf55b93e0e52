fn main() -> std::process::ExitCode {
    ringtrack::main()
}
