# Debian's HAProxy: stands in for haproxy:2.8, which reads the same file
ARG BASE
FROM ${BASE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/*
USER haproxy
CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
