# ecs-notifier: build, demo, test. `make help` lists the targets.

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
CARGO ?= cargo

.PHONY: help build debug release demo test fmt-check clippy release-check unit lint-template tools browser cards preview \
	deploy-tools deploy clean bench load fuzz datadog

help:
	@echo "make demo    render every sample event in events/ (no AWS account, no network)"
	@echo "make test    fmt check, clippy -D warnings, a release check of the binary, all tests, cfn-lint of template.yaml and spoke.yaml"
	@echo "             (the browser checks are skipped without chromium; REQUIRE_BROWSER=1 makes that a failure, as .ci/run does)"
	@echo "make release cargo build --release (target/release/ecs-notifier)"
	@echo "make build   the Lambda deployment zip with cargo lambda (ARCH=arm64 default, or ARCH=x86_64)"
	@echo "make deploy  sam build + sam deploy of template.yaml (guided the first time, or GUIDED=1)"
	@echo "make bench   criterion benchmarks of the pure pipeline, and the binary against a local Runtime API"
	@echo "make load    10,000 events of 200 services in SQS batches through the binary (loopback sinks)"
	@echo "make fuzz    the property tests with many more cases (FUZZ_CASES, default 20000 per property)"
	@echo "make preview every sample's Slack message as a web page and a PNG each, in docs/alerts/, and its Teams card in docs/alerts/teams/ (headless Chromium)"
	@echo "make browser Debian's chromium and a colour emoji font for the browser checks, with apt (--no-install-recommends); skipped where apt cannot"
	@echo "make datadog create or update the dashboard and monitors of datadog/ (DD_API_KEY, DD_APP_KEY, DD_SITE; DRY_RUN=1 sends nothing)"

# Debug build of the CLI, for `make demo`.
debug:
	$(CARGO) build --locked

release:
	$(CARGO) build --release --locked

demo: debug
	@target/debug/ecs-notifier render --enrichment events/enrichment events/*.json

test: fmt-check clippy release-check unit lint-template

fmt-check:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	$(CARGO) fmt --all -- --check

clippy:
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	$(CARGO) clippy --locked --all-targets -- -D warnings

# The release profile type-checks what debug does not (the layout of the deepest async
# futures, with its inlining): the binary that ships must build.
release-check:
	$(CARGO) check --release --locked --bin ecs-notifier

unit: tools browser cards
	$(CARGO) test --locked --all-targets

# Python tools live in a virtualenv of the project, installed on first use.
$(VENV)/.installed: requirements-dev.txt requirements-dev.lock
	python3 -m venv $(VENV) || { python3 -m pip install --quiet virtualenv && python3 -m virtualenv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c requirements-dev.lock
	touch $@

tools: $(VENV)/.installed

# Debian's Chromium (and a colour emoji font) for the browser checks and `make preview`; Playwright
# (pip, in .venv) drives it. Installed with apt when missing (as root, else with sudo), without
# recommended packages, apt's output kept in $(BROWSER_LOG). Where apt or sudo is missing, or the
# install fails, `make test` goes on and the browser checks (tests/it/preview.rs) are skipped with
# one line; REQUIRE_BROWSER=1 (.ci/run) makes that a failure, here and in the tests. A CHROMIUM of
# your own is never installed; EMOJI_FONT and APT are there to try the other paths.
CHROMIUM    ?= /usr/bin/chromium
EMOJI_FONT  ?= /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
APT         ?= apt-get
BROWSER_LOG := target/browser-apt.log
BROWSER_PKGS := chromium fonts-noto-color-emoji
BROWSER_WHAT := Debian's chromium and fonts-noto-color-emoji
browser:
	@if [ -x "$(CHROMIUM)" ] && [ -e "$(EMOJI_FONT)" ]; then exit 0; fi; \
	required=$$([ -n "$(REQUIRE_BROWSER)" ] && [ "$(REQUIRE_BROWSER)" != 0 ] && [ ! -x "$(CHROMIUM)" ] && echo yes); \
	if [ "$(CHROMIUM)" != /usr/bin/chromium ]; then \
	  [ -z "$$required" ] || { echo "REQUIRE_BROWSER=$(REQUIRE_BROWSER): no chromium at $(CHROMIUM)" >&2; exit 1; }; \
	  exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else sudo=none; fi; \
	if ! command -v $(APT) >/dev/null 2>&1 || [ "$$sudo" = none ]; then \
	  [ -z "$$required" ] || { echo "REQUIRE_BROWSER=$(REQUIRE_BROWSER): no chromium, and no $(APT)$$([ "$$sudo" = none ] && echo ' or sudo') to install $(BROWSER_WHAT)" >&2; exit 1; }; \
	  exit 0; \
	fi; \
	mkdir -p $(dir $(BROWSER_LOG)); \
	echo "installing $(BROWSER_WHAT) with apt ($${sudo:+sudo, }--no-install-recommends; output in $(BROWSER_LOG))"; \
	if $$sudo $(APT) update -qq >$(BROWSER_LOG) 2>&1 && \
	   $$sudo env DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq --no-install-recommends \
	     $(BROWSER_PKGS) >>$(BROWSER_LOG) 2>&1; then apt=ok; else apt=failed; fi; \
	if [ $$apt = ok ] && [ -x "$(CHROMIUM)" ]; then \
	  echo "installed: $$(grep -c '^Setting up ' $(BROWSER_LOG)) package(s)"; exit 0; \
	elif [ $$apt = ok ]; then why="apt installed $(BROWSER_PKGS), but $(CHROMIUM) does not run"; \
	else why="apt did not install $(BROWSER_WHAT)"; fi; \
	if [ -n "$$required" ] && [ ! -x "$(CHROMIUM)" ]; then \
	  echo "REQUIRE_BROWSER=$(REQUIRE_BROWSER): $$why; the end of $(BROWSER_LOG):" >&2; \
	  tail -n 5 $(BROWSER_LOG) >&2; exit 1; \
	fi; \
	echo "$$why: see $(BROWSER_LOG)"

# Microsoft's Adaptive Cards renderer (the npm package adaptivecards) and markdown-it (Teams reads
# TextBlocks and facts as markdown), pinned, installed with npm (Debian's Node.js) into .tools/ on
# first use: the Teams cards' validation (tests/it/teams_cards.rs) and their pictures. Where npm is
# missing, the card checks are skipped with one line; REQUIRE_BROWSER=1 makes that a failure.
CARDS_DIR  := .tools
CARDS_PKGS := adaptivecards@3.0.6 markdown-it@14.1.0
cards: $(CARDS_DIR)/.installed
$(CARDS_DIR)/.installed:
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ -n "$(REQUIRE_BROWSER)" ] && [ "$(REQUIRE_BROWSER)" != 0 ]; then \
	    echo "REQUIRE_BROWSER=$(REQUIRE_BROWSER): no npm to install $(CARDS_PKGS) (apt-get install nodejs npm)" >&2; exit 1; \
	  fi; \
	  echo "no npm: the Teams card checks are skipped (apt-get install nodejs npm)"; exit 0; \
	fi; \
	mkdir -p $(CARDS_DIR) && \
	npm install --prefix $(CARDS_DIR) --save-exact --no-audit --no-fund --loglevel=error $(CARDS_PKGS) && \
	touch $@

# Every sample's Slack message, with the recorded enrichment: one page (docs/alerts/alerts.html)
# and a PNG of each message (docs/alerts/<sample>.png); and its Teams card as Microsoft's renderer
# draws it (docs/alerts/teams/<sample>.png).
preview: debug tools browser cards
	@mkdir -p docs/alerts/teams
	target/debug/ecs-notifier render --html --enrichment events/enrichment events/*.json > docs/alerts/alerts.html
	$(PY) scripts/preview docs/alerts/alerts.html docs/alerts
	target/debug/ecs-notifier render --teams --enrichment events/enrichment events/*.json > docs/alerts/teams/cards.jsonl
	$(PY) scripts/preview-teams docs/alerts/teams/cards.jsonl docs/alerts/teams

# The dashboard and monitors of datadog/, created or updated by title (docs/datadog.md).
datadog: tools
	$(PY) scripts/datadog $(if $(DRY_RUN),--dry-run)

# cfn-lint validates the SAM template as written (with the serverless rules of
# cfn-lint-serverless), then the CloudFormation template the SAM transform turns it into
# (aws-sam-translator, offline): only there are references to the resources SAM generates
# (NotifierFunctionRole, the three rules) checked.
SAM_TRANSLATED := target/sam/template.json
define SAM_TRANSLATE
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
class Policies:
    def load(self):
        return {}
template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://bucket/key.zip"  # as `sam package` leaves it
json.dump(transform(template, {}, Policies()), open(sys.argv[2], "w"), indent=1)
endef
export SAM_TRANSLATE

# Both shapes: cfn-lint cannot be given parameter values, so the same two checks run again on
# a copy whose parameter defaults turn the optional parts on (the state table with its missed-run
# check, the buffer queue, the launch-failure, retirement, container-instance-state and
# unknown-event rules, the target-failure queue, named webhooks, the Datadog application key).
SHAPE_ON        := target/sam/template-on.json
SHAPE_ON_PARAMS := StateTable=true BufferQueue=true LaunchFailureAlerts=true RetirementWarnings=true \
	TargetFailureQueue=true 'MissedRunCheckSchedule=rate(5 minutes)' InstanceStateEvents=true \
	UnknownEcsEvents=true SlackRouteNames=payments,data-eng \
	SlackRouteSecretArns=arn:aws:secretsmanager:us-east-1:123456789012:secret:payments-AbCdEf,arn:aws:ssm:us-east-1:123456789012:parameter/hooks/data-eng \
	DatadogAppKeySecretArn=arn:aws:ssm:us-east-1:123456789012:parameter/dd-app-key \
	TeamsWebhookSecretArn=arn:aws:secretsmanager:us-east-1:123456789012:secret:teams-flow-AbCdEf TeamsRouteNames=payments \
	TeamsRouteSecretArns=arn:aws:ssm:us-east-1:123456789012:parameter/flows/payments
define SET_DEFAULTS
import json, sys
from samtranslator.yaml_helper import yaml_parse
template = yaml_parse(open(sys.argv[1]).read())
for setting in sys.argv[3:]:
    name, value = setting.split("=", 1)
    template["Parameters"][name]["Default"] = value
json.dump(template, open(sys.argv[2], "w"), indent=1)
endef
export SET_DEFAULTS

# And the state table off (it is on by default): the shape without it.
SHAPE_OFF        := target/sam/template-off.json
SHAPE_OFF_PARAMS := StateTable=false

# One notifier for an AWS Organization: the on shape with OrganizationId (the rules on the
# organization's bus, the spoke roles) and the account settings (names, from Organizations too).
SHAPE_ORG        := target/sam/template-org.json
SHAPE_ORG_PARAMS := $(SHAPE_ON_PARAMS) OrganizationId=o-a1b2c3d4e5 AccountNamesFromOrganizations=true \
	AccountNames=123456789012=prod-payments,210987654321=data-platform AccountRoutes=123456789012=payments \
	AccountChannels=210987654321=data-alerts

# The spoke template (plain CloudFormation, for StackSets), as it is and with its optional rules
# on: linted, and given to check-rules beside the central shapes of the same switches.
SPOKE          := spoke.yaml
SPOKE_SHAPE    := target/sam/spoke.json
SPOKE_ON       := target/sam/spoke-on.json
SPOKE_ON_PARAMS := LaunchFailureAlerts=true RetirementWarnings=true InstanceStateEvents=true UnknownEcsEvents=true

lint-template: tools
	$(VENV)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	@mkdir -p $(dir $(SAM_TRANSLATED))
	AWS_DEFAULT_REGION=us-east-1 $(PY) -c "$$SAM_TRANSLATE" template.yaml $(SAM_TRANSLATED)
	$(VENV)/bin/cfn-lint $(SAM_TRANSLATED) --append-rules cfn_lint_serverless.rules
	$(PY) -c "$$SET_DEFAULTS" template.yaml $(SHAPE_ON) $(SHAPE_ON_PARAMS)
	$(VENV)/bin/cfn-lint $(SHAPE_ON) --append-rules cfn_lint_serverless.rules
	AWS_DEFAULT_REGION=us-east-1 $(PY) -c "$$SAM_TRANSLATE" $(SHAPE_ON) $(SHAPE_ON:.json=.translated.json)
	$(VENV)/bin/cfn-lint $(SHAPE_ON:.json=.translated.json) --append-rules cfn_lint_serverless.rules
	$(PY) -c "$$SET_DEFAULTS" template.yaml $(SHAPE_OFF) $(SHAPE_OFF_PARAMS)
	AWS_DEFAULT_REGION=us-east-1 $(PY) -c "$$SAM_TRANSLATE" $(SHAPE_OFF) $(SHAPE_OFF:.json=.translated.json)
	$(VENV)/bin/cfn-lint $(SHAPE_OFF:.json=.translated.json) --append-rules cfn_lint_serverless.rules
	$(PY) -c "$$SET_DEFAULTS" template.yaml $(SHAPE_ORG) $(SHAPE_ORG_PARAMS)
	$(VENV)/bin/cfn-lint $(SHAPE_ORG) --append-rules cfn_lint_serverless.rules
	AWS_DEFAULT_REGION=us-east-1 $(PY) -c "$$SAM_TRANSLATE" $(SHAPE_ORG) $(SHAPE_ORG:.json=.translated.json)
	$(VENV)/bin/cfn-lint $(SHAPE_ORG:.json=.translated.json) --append-rules cfn_lint_serverless.rules
	$(VENV)/bin/cfn-lint $(SPOKE) --append-rules cfn_lint_serverless.rules
	$(PY) -c "$$SET_DEFAULTS" $(SPOKE) $(SPOKE_SHAPE)
	$(PY) -c "$$SET_DEFAULTS" $(SPOKE) $(SPOKE_ON) $(SPOKE_ON_PARAMS)
	$(VENV)/bin/cfn-lint $(SPOKE_ON) --append-rules cfn_lint_serverless.rules
	$(PY) scripts/check-rules $(SAM_TRANSLATED) $(SHAPE_ON:.json=.translated.json) \
	  --org $(SHAPE_ORG:.json=.translated.json) --spoke $(SPOKE_SHAPE) $(SPOKE_ON)

# ---- Lambda package and deployment --------------------------------------------------------
# `make build` produces target/lambda/ecs-notifier/bootstrap.zip (a `bootstrap` for
# provided.al2023) with cargo-lambda, which pip installs into .venv together with Zig, its
# cross-linker (no Docker). `make deploy` also needs the AWS SAM CLI, installed into .venv/sam
# on first use. `make test` needs neither.
ARCH        ?= arm64
LAMBDA_ZIP  := $(or $(CARGO_TARGET_DIR),target)/lambda/ecs-notifier/bootstrap.zip
# The SAM CLI pins its own cfn-lint, aws-sam-translator and boto versions: it gets a virtualenv
# of its own inside .venv, so it never changes the tools `make test` uses.
SAM_VENV    := $(VENV)/sam
SAM         := $(SAM_VENV)/bin/sam
# Deploy-time tools: never part of `make test`.
CARGO_LAMBDA_PIP ?= cargo-lambda>=1.8,<2
SAM_CLI_PIP      ?= aws-sam-cli>=1.120,<2

$(VENV)/bin/cargo-lambda: | $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check '$(CARGO_LAMBDA_PIP)'

$(SAM): | $(VENV)/.installed
	$(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check '$(SAM_CLI_PIP)'

deploy-tools: $(VENV)/bin/cargo-lambda $(SAM)

build: $(VENV)/bin/cargo-lambda
	@case "$(ARCH)" in \
	  arm64)  target=aarch64-unknown-linux-gnu; flag=--arm64 ;; \
	  x86_64) target=x86_64-unknown-linux-gnu;  flag=--x86-64 ;; \
	  *) echo "ARCH must be arm64 or x86_64, not '$(ARCH)'" >&2; exit 2 ;; \
	esac; \
	if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$$target"; then \
	  rustup target add "$$target"; \
	fi; \
	start=$$(date +%s); \
	PATH="$(abspath $(VENV))/bin:$$PATH" $(CARGO) lambda build --release --locked $$flag \
	  --bin ecs-notifier --output-format zip || exit $$?; \
	echo "$(LAMBDA_ZIP): $(ARCH), $$(stat -c %s $(LAMBDA_ZIP)) bytes, built in $$(( $$(date +%s) - start )) s"

# `sam build` runs the template's rust-cargolambda build method: `cargo lambda build --release
# [--arm64] --bin ecs-notifier` in this directory (SAM builds Rust in the source tree), so it
# reuses what `make build` compiled, then stages target/lambda/ecs-notifier/bootstrap in
# .aws-sam/build; `sam deploy` zips that binary, uploads it and deploys the stack.
#   - First deploy (no samconfig.toml): guided; asks for every parameter, saves the answers.
#   - Later deploys: not guided; samconfig.toml gives the stack, bucket and capabilities, and
#     parameters other than Architecture keep the stack's previous values.
#   - GUIDED=1: guided again, to change parameters (answer Architecture with $(ARCH)).
# Architecture is always passed as ARCH (except with GUIDED=1, where it is asked), so the binary
# and the function agree.
STACK ?= ecs-notifier
GUIDED ?= $(if $(wildcard samconfig.toml),,first)
deploy: build $(SAM)
	PATH="$(abspath $(VENV))/bin:$$PATH" SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 \
	  $(SAM) build --beta-features --parameter-overrides Architecture=$(ARCH)
ifeq ($(GUIDED),first)
	$(SAM) deploy --guided --stack-name $(STACK) --parameter-overrides Architecture=$(ARCH)
else ifneq ($(GUIDED),)
	@echo "Answer Architecture with $(ARCH): the binary just built is for $(ARCH)."
	$(SAM) deploy --guided
else
	$(SAM) deploy --parameter-overrides Architecture=$(ARCH)
endif

clean:
	$(CARGO) clean
	rm -rf $(VENV) .aws-sam

bench:
	scripts/bench

load:
	scripts/load

FUZZ_CASES ?= 20000
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --release --test fuzz -- --nocapture --test-threads 1
