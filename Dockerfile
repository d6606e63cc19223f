# skyserve-exporter: a Prometheus exporter for SkyServe fleets. See docs/container.md.
#
#   docker build -t skyserve-exporter .
#   docker run -p 9091:9091 skyserve-exporter --demo                     # a simulated fleet
#   docker run -p 9091:9091 -e SKYPILOT_API_SERVER_ENDPOINT=http://skypilot-api:46580 skyserve-exporter
#
# Both stages must use the same base: the virtualenv built in the first is copied into the second,
# and its `python` is a link to the base image's interpreter.

FROM python:3.12-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter ./exporter
COPY collectors ./collectors
COPY simulator ./simulator

# Build the wheel, then install it and its runtime dependencies (and nothing else) into a
# virtualenv; pip and setuptools, needed only to install, are removed from it afterwards.
# The default config enables the SkyServe collector (endpoint and token from the environment,
# SKYPILOT_API_SERVER_ENDPOINT and SKYPILOT_SERVICE_ACCOUNT_TOKEN) and probes of what it finds;
# mount your own file over it for anything else.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/python -m pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/python -m pip install /wheels/*.whl \
    && /opt/venv/bin/python -m pip uninstall --yes pip setuptools \
    && mkdir -p /etc/skyserve-exporter \
    && printf '%s\n' \
        '# The image default: SkyServe from SKYPILOT_API_SERVER_ENDPOINT, probes of what it finds.' \
        'collectors:' \
        '  skyserve: {}' \
        '  probes: {}' \
        > /etc/skyserve-exporter/config.yml


FROM python:3.12-slim

LABEL org.opencontainers.image.title="skyserve-exporter" \
      org.opencontainers.image.description="Prometheus exporter for SkyServe model-serving fleets" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --gid 10001 skyserve \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin skyserve

COPY --from=build /opt/venv /opt/venv
COPY --from=build /etc/skyserve-exporter/config.yml /etc/skyserve-exporter/config.yml

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER 10001:10001
EXPOSE 9091

# The exporter exits 0 within a second on SIGTERM, even with an upstream call hung.
STOPSIGNAL SIGTERM

# No curl in the slim image: the venv's Python asks /-/healthy on the default port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "exporter.healthcheck", "9091"]

ENTRYPOINT ["skyserve-exporter"]
CMD ["--config", "/etc/skyserve-exporter/config.yml"]
