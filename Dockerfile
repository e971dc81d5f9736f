# bank-adapter, the service: slim, non-root, with a health check on /healthz.
#   docker build -t bank-adapter .
#   docker run --rm bank-adapter --version
# compose.yaml runs two instances behind a proxy on one PostgreSQL; settings are the
# BANK_ADAPTER_* variables of the README (paths below are the image's defaults).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY schemas ./schemas
COPY bank_adapter ./bank_adapter
# The versions the suite runs on (constraints.txt): lxml and xmlsec as a matching pair.
RUN python -m venv /opt/bank-adapter \
 && /opt/bank-adapter/bin/pip install -c constraints.txt '.[postgres]'

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --no-create-home bank-adapter \
 && install -d -o bank-adapter -g bank-adapter -m 0700 /var/lib/bank-adapter
COPY --from=build /opt/bank-adapter /opt/bank-adapter
COPY fees.toml /etc/bank-adapter/fees.toml
ENV PATH=/opt/bank-adapter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BANK_ADAPTER_HOST=0.0.0.0 \
    BANK_ADAPTER_PORT=8080 \
    BANK_ADAPTER_VAR_DIR=/var/lib/bank-adapter \
    BANK_ADAPTER_PARTNERS_DIR=/etc/bank-adapter/partners \
    BANK_ADAPTER_FEES_FILE=/etc/bank-adapter/fees.toml
USER 10001:10001
WORKDIR /var/lib/bank-adapter
EXPOSE 8080
# slim has no curl: the image's own Python asks /healthz (liveness: the process answers).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('BANK_ADAPTER_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["bank-adapter"]
CMD ["serve"]
