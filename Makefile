# Skiff's command surface. `make dev` runs the local server; `make test` runs every test.
.PHONY: help dev example test screenshot openapi fmt lint check release package aws-local azure-local bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

dev: ## Run the all-in-one local server (SKIFF_LISTEN, default 127.0.0.1:8080)
	cargo run --locked -p skiff-local

example: ## Run the cart example (examples/cart) on the local server (SKIFF_LISTEN, as make dev)
	cargo run --locked -p skiff-cart --features local --bin cart-local

test: ## Build and run every test (installs and starts whatever the tests need)
	bash tests/run

screenshot: ## Walk the cart page in headless Chromium and write docs/cart-page.png
	bash tests/screenshot

openapi: ## Write the contract's OpenAPI 3.1 document to docs/openapi.json
	cargo run --locked -q -p skiff --example openapi > docs/openapi.json

fmt: ## Format the code
	cargo fmt --all

lint: ## rustfmt check + clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets --all-features -- -D warnings

check: lint test ## What CI runs

release: ## Optimised, stripped local server in target/release/skiff-local
	cargo build --locked --release -p skiff-local

package: ## Release zips of the Lambda functions (cargo lambda), sizes printed
	bash infra/package

bench: ## Cold start, warm latency, RSS and size vs an echo floor and a Python peer -> BENCHMARKS.md
	bash tests/bench/run

aws-local: ## Emulated AWS: moto + the real Lambda functions under cargo lambda watch (SKIFF_LISTEN, default 127.0.0.1:9000)
	bash infra/aws-local

azure-local: ## Azure Functions app: Azurite + the custom handler + the host emulator (SKIFF_LISTEN, default 127.0.0.1:7071)
	bash infra/azure-local

clean: ## Remove build output (keeps .skiff-data)
	cargo clean
