# Pocket IdP: `idp serve` on port 8000, as an unprivileged user.
#
#   docker build -t pocket-idp .
#
# BASE is any Debian-like image with Python 3.11+ and its venv module: the official
# python image by default; Debian's own python3-venv works as well
# (`--build-arg BASE=...`). pip reaches the package index through the PIP_* build
# arguments (PIP_INDEX_URL for a mirror, PIP_FIND_LINKS and PIP_NO_INDEX=1 for a
# wheelhouse); behind a TLS-inspecting proxy, give its CA bundle as a BuildKit secret:
#
#   DOCKER_BUILDKIT=1 docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
#
# Configuration: IDP_* environment variables (IDP_SERVER_ISSUER, IDP_STORE_URL,
# IDP_STORE_CACHE, IDP_POCKET_ENCRYPTION_KEY, ...), or a TOML file mounted into the
# container and named by IDP_CONFIG (or `idp --config FILE serve`). Without either, the
# store is the sqlite file in the /data volume.

ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
COPY pyproject.toml README.md /src/
COPY idp /src/idp
COPY plugins /src/plugins
# the virtualenv is all the final image takes: no pip, no cache, no build tools
RUN --mount=type=secret,id=ca \
    if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && python3 -m venv /opt/pocket-idp \
    && /opt/pocket-idp/bin/pip install --no-cache-dir --disable-pip-version-check /src \
    && /opt/pocket-idp/bin/pip uninstall --yes --quiet pip setuptools

FROM ${BASE}
RUN useradd --system --user-group --home-dir /data --no-create-home idp \
    && mkdir /data && chown idp:idp /data
COPY --from=build /opt/pocket-idp /opt/pocket-idp
ENV PATH=/opt/pocket-idp/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    IDP_FACTORS_ENABLED=pocket \
    IDP_SERVER_HOST=0.0.0.0 \
    IDP_SERVER_PORT=8000 \
    IDP_STORE_PATH=/data/idp.sqlite3
USER idp
WORKDIR /data
VOLUME /data
EXPOSE 8000
# /healthz on the management port (IDP_SERVER_MANAGEMENT_PORT) when there is one, else
# discovery: both answer whenever the server runs, even while its store cannot be reached
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; env = os.environ.get; management = int(env('IDP_SERVER_MANAGEMENT_PORT') or 0); url = 'http://127.0.0.1:%d/healthz' % management if management else 'http://127.0.0.1:%s/.well-known/openid-configuration' % env('IDP_SERVER_PORT', '8000'); urllib.request.urlopen(url, timeout=4)"]
CMD ["idp", "serve"]
