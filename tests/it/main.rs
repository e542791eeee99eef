//! The integration tests, in one binary: each module was a test binary of its own, and
//! every binary linked the whole crate again. Modules are named by purpose (`cli_*` run the
//! real binary, `apply_*` and `postgres_*` the library against an in-process emulator or a
//! PostgreSQL server, `properties_*` are property tests, `docs_*` check the documentation);
//! the `*_support` modules are what they share.

// What the tests share.
mod apply_support;
#[path = "../bad-input/state/corpus.rs"]
mod bad_state_corpus;
mod cli_apply_support;
#[macro_use]
mod cli_support;
mod credentials_support;
mod emulator_process;
mod emulator_support;
mod forge_support;
#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code, clippy::expect_used)] // the fuzz targets' own code: a panic is a finding
mod fuzzing;
mod generated_support;
mod release_support;
mod support_postgres;

mod apply_executor;
mod apply_lifecycle;
mod ci_recipes;
mod cli_apply;
mod cli_apply_terminal;
mod cli_comment;
mod cli_credentials;
mod cli_declarative;
mod cli_diagnostics;
mod cli_fmt;
mod cli_generate;
mod cli_habits;
mod cli_help;
mod cli_init;
mod cli_lifecycle;
mod cli_logging;
mod cli_plan;
mod cli_postgres;
mod cli_provenance;
mod cli_watch;
mod client_emulator;
mod client_http;
mod docs_architecture;
mod docs_environment;
mod docs_getting_started;
mod docs_json_output;
mod docs_links;
mod docs_schema;
mod emulator_api;
mod emulator_cli;
mod emulator_faults;
mod emulator_security;
mod hostile_server;
mod manifest_corpus;
mod postgres_apply;
mod postgres_backend;
mod postgres_history;
mod postgres_tls;
mod properties_inputs;
mod properties_journal;
mod properties_planner;
mod properties_signer;
mod provenance_git;
mod release_install;
mod secrets;
mod state_corpus;
