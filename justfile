# Minigroup service recipes. `just` lists them.

set dotenv-load := false

default:
    @just --list

# Run the service (SQLite and local stand-ins unless configured otherwise).
run *ARGS:
    cargo run -p app -- {{ARGS}}

# Run the whole test suite (PostgreSQL tests run where a server answers).
test *ARGS:
    cargo test --workspace {{ARGS}}

# Run the tests and fail if PostgreSQL is not reachable.
test-pg *ARGS:
    REQUIRE_POSTGRES=1 cargo test --workspace {{ARGS}}

# Format the code.
fmt:
    cargo fmt --all

# Lint: formatting check and clippy with warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Start the local PostgreSQL server if it is not running.
db-up:
    pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    pg_isready -h 127.0.0.1 -p 5432

# Run against the local PostgreSQL server (creates the database `minigroups`).
run-pg: db-up
    psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'minigroups'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE minigroups"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minigroups cargo run -p app

# New migration NAME for both databases (edit both up.sql and down.sql).
migration NAME:
    #!/usr/bin/env bash
    set -euo pipefail
    stamp=$(date -u +%Y-%m-%d-%H%M%S)
    for backend in postgres sqlite; do
      dir="migrations/$backend/${stamp}_{{NAME}}"
      mkdir -p "$dir"
      printf -- '-- {{NAME}} (%s)\n' "$backend" > "$dir/up.sql"
      printf -- '-- undo {{NAME}} (%s)\n' "$backend" > "$dir/down.sql"
      echo "created $dir"
    done

# Everything CI checks.
check: lint test-pg

# Load benchmark against pgbench's ceiling (PostgreSQL, then SQLite); `just bench --quick` for a smoke run, `just bench --help` for options.
bench *ARGS:
    cargo build --release -p app -p bench
    target/release/bench {{ARGS}}
