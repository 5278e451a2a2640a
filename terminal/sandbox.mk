# The sandbox image for the ComputerTerminal, built without any registry:
# a minimal Debian with python3 from debootstrap, imported into Docker.
# Included from the top-level Makefile; usable alone with
#   make -f terminal/sandbox.mk sandbox-image
#
#   make sandbox-image            build m1-sandbox:latest unless it exists
#   make sandbox-image FORCE=1    rebuild it
#
# Variables: SANDBOX_IMAGE, SANDBOX_SUITE, SANDBOX_MIRROR, DOCKER, DEBOOTSTRAP.
# debootstrap needs root (sudo is used when not root).

SANDBOX_IMAGE ?= m1-sandbox:latest
SANDBOX_SUITE ?= bookworm
SANDBOX_MIRROR ?= http://deb.debian.org/debian
DOCKER ?= docker
DEBOOTSTRAP ?= debootstrap
FORCE ?=

.PHONY: sandbox-image
sandbox-image: ## build the offline sandbox image m1-sandbox:latest (FORCE=1 rebuilds)
	@set -eu; \
	if [ -z "$(FORCE)" ] && $(DOCKER) image inspect $(SANDBOX_IMAGE) >/dev/null 2>&1; then \
		echo "sandbox-image: $(SANDBOX_IMAGE) exists (FORCE=1 rebuilds it)"; \
		exit 0; \
	fi; \
	sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	dir=$$(mktemp -d "$${TMPDIR:-/tmp}/m1-sandbox.XXXXXX"); \
	trap '$$sudo rm -rf "$$dir"' EXIT; \
	echo "sandbox-image: debootstrap $(SANDBOX_SUITE) into $$dir"; \
	$$sudo $(DEBOOTSTRAP) --variant=minbase --include=python3 $(SANDBOX_SUITE) "$$dir" $(SANDBOX_MIRROR); \
	$$sudo rm -rf "$$dir"/var/cache/apt/archives/*.deb "$$dir"/var/lib/apt/lists/*; \
	echo "sandbox-image: importing as $(SANDBOX_IMAGE)"; \
	$$sudo tar -C "$$dir" -c . | $(DOCKER) import \
		--change 'CMD ["python3"]' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV LANG=C.UTF-8' \
		- $(SANDBOX_IMAGE); \
	echo "sandbox-image: built $(SANDBOX_IMAGE)"
