# The images of e2e/compose.yaml (build context: the repository root; the ignore file beside
# this one, which BuildKit reads, keeps .venv, .cache and .git out of it). Not exercised by this
# project's own CI, whose machines run no Docker engine: see e2e/README.md. No `# syntax=` line:
# it would pull a frontend image by a floating tag; BuildKit's built-in one suffices.
#
# Every base image is pinned by tag. Replace each tag with the digest you verified
# (name:tag@sha256:...) before you rely on it: tags can be moved, and LiteLLM's once were, to a
# compromised build.
ARG PYTHON_IMAGE=python:3.11-slim
ARG SERVER_IMAGE=quay.io/openbao/openbao:2.7.2
ARG LITELLM_IMAGE=ghcr.io/berriai/litellm:v1.106.12
ARG UV_VERSION=0.13.9

# -- The three wheels, built as for publishing, and the plugin's third-party dependencies
#    exported from uv.lock with their hashes (the versions the test suite runs with).
FROM ${PYTHON_IMAGE} AS dists
ARG UV_VERSION
ENV UV_PYTHON_DOWNLOADS=never PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
COPY . .
RUN for package in litellm-client vault-plugin-proto vault-plugin-litellm; do \
        uv build --package "$package" --wheel -o /dist || exit 1; \
    done \
    && uv export --frozen --package vault-plugin-litellm --no-dev --no-emit-workspace \
        --no-header -o /dist/requirements.txt

# -- An OpenBao or Vault server image (SERVER_IMAGE) that can run the plugin.
#
# The host execs the launcher in its plugin directory, and the launcher's #! names a Python: that
# Python has to exist inside the server's container. Both official images are Alpine (musl), so
# a virtualenv built in another image (glibc) cannot be shared into them; instead the server
# image gets Alpine's python3 and a virtualenv at a fixed path, /opt/vault-plugin-litellm/venv,
# holding the three wheels and the locked dependencies (their musllinux wheels, hash-checked).
# The server binary, its user and its Alpine stay the official image's.
FROM ${SERVER_IMAGE} AS server
ARG SERVER_USER=openbao
ARG PLUGIN_ENV=/opt/vault-plugin-litellm/venv
USER root
COPY --from=dists /dist /tmp/dist
RUN apk add --no-cache python3 \
    && python3 -m venv "${PLUGIN_ENV}" \
    && "${PLUGIN_ENV}/bin/pip" install --no-cache-dir --disable-pip-version-check \
        --require-hashes --no-deps -r /tmp/dist/requirements.txt \
    && "${PLUGIN_ENV}/bin/pip" install --no-cache-dir --disable-pip-version-check \
        --no-deps /tmp/dist/*.whl \
    && "${PLUGIN_ENV}/bin/vault-plugin-litellm" version \
    && rm -rf /tmp/dist \
    && mkdir -p /plugins /etc/vault-plugin-litellm \
    && chown "${SERVER_USER}" /plugins \
    && printf 'raw_storage_endpoint = true\n' > /etc/vault-plugin-litellm/raw-storage.hcl
USER ${SERVER_USER}

# -- LiteLLM with the two priced mock models the suite uses (baked in rather than bind-mounted,
#    so the stack also works with a Docker engine on another host, e.g. a CI's socket).
FROM ${LITELLM_IMAGE} AS litellm
COPY ci/litellm-config.yaml /etc/litellm/config.yaml

# -- The test runner: the workspace, synced from uv.lock.
FROM ${PYTHON_IMAGE} AS tests
ARG UV_VERSION
ENV UV_PYTHON_DOWNLOADS=never UV_PYTHON=python3 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
COPY . .
RUN uv sync --frozen
ENTRYPOINT ["uv", "run", "--frozen", "pytest"]
