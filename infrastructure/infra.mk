# deskmail infrastructure targets. Include from the root Makefile, after VENV/PY and $(VENV)/.installed exist:
#
#     include infrastructure/infra.mk
#
# synth       writes cdk.out/deskmail-<stage>.template.json (stage and values from cdk.json's context;
#             override with CDK_CONTEXT_JSON='{"stage":"prod","sender":"...","sender_domain":"..."}' make synth)
# test-infra  synthesizes once, asserts on the template, runs cdk-nag, cfn-lint and checkov (own pytest process:
#             the CDK entry and the Chalice app must not share one with the app's tests)

CHECKOV_VENV ?= .venv-checkov
CDK_OUTDIR ?= cdk.out
# `chalice package` needs a region during synth; nothing is called in it.
AWS_DEFAULT_REGION ?= us-east-1
export AWS_DEFAULT_REGION
# jsii warns on every run that Node 20 is end-of-life; harmless for synth.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 1

.PHONY: synth test-infra infra-locales

$(VENV)/.infra-installed: $(VENV)/.installed requirements-infra.lock
	$(VENV)/bin/pip install -q --require-hashes -r requirements-infra.lock
	touch $@

# checkov pins many libraries of its own: a venv of its own keeps them away from the app's.
$(CHECKOV_VENV)/.installed: requirements-checkov.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --require-hashes -r requirements-checkov.lock
	touch $@

# The gettext catalogues ship in the Lambda package that synth builds (no catalogues yet is fine).
infra-locales: $(VENV)/.installed
	test ! -d chalicelib/locales || $(VENV)/bin/pybabel compile -d chalicelib/locales -D deskmail || true

synth: $(VENV)/.infra-installed infra-locales
	CDK_OUTDIR=$(CDK_OUTDIR) $(PY) infrastructure/deskmail_cdk.py
	@ls $(CDK_OUTDIR)/*.template.json

test-infra: $(VENV)/.infra-installed $(CHECKOV_VENV)/.installed infra-locales
	CHECKOV=$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest tests/infrastructure -q -p no:cacheprovider
