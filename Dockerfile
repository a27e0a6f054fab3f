FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY idp ./idp
COPY plugins ./plugins
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system --home /data idp && mkdir -p /data \
    && chown idp /data

USER idp
VOLUME /data
ENV IDP_SERVER_HOST=0.0.0.0 \
    IDP_STORE_PATH=/data/idp.sqlite3
EXPOSE 8000
CMD ["idp", "--config", "/app/config/idp.toml", "serve"]
