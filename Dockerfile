# commsbot as a container image.
#
#   docker build -t commsbot .
#   docker run -d --name commsbot --env-file .env -p 3000:3000 \
#       -v commsbot-data:/data --stop-timeout 90 commsbot
#
# Your own configuration: mount it and point COMMSBOT_CONFIG_DIR at it, e.g.
#   -v "$PWD/config:/config:ro" -e COMMSBOT_CONFIG_DIR=/config
# Without that, the example configuration installed with the package is used.
# README.md, section "Deploy", says more.

ARG PYTHON_IMAGE=python:3.11-slim

# Stage 1: build commsbot's wheel (it carries the templates and the example configuration)
# and install it with its dependencies into a virtual environment. The environment gets no
# pip of its own: the base image's pip installs into it, and stays behind in this stage.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY templates ./templates
COPY config ./config
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/commsbot \
    && pip --python /opt/commsbot/bin/python install --no-cache-dir /wheels/commsbot-*.whl

# Stage 2: the runtime image, with nothing of the build but the virtual environment.
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="commsbot" \
      org.opencontainers.image.description="Slack bot for the social media desk of a UK public body's communications team" \
      org.opencontainers.image.licenses="MIT"

# A fixed uid/gid, so a bind-mounted data directory can be given to it: chown 10001:10001.
RUN groupadd --system --gid 10001 commsbot \
    && useradd --system --uid 10001 --gid commsbot --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin commsbot \
    && mkdir /data \
    && chown commsbot:commsbot /data

COPY --from=build /opt/commsbot /opt/commsbot

# Templates are found in /opt/commsbot/share/commsbot/templates (the install's share
# directory); the example configuration is beside them.
ENV PATH=/opt/commsbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COMMSBOT_CONFIG_DIR=/opt/commsbot/share/commsbot/config \
    COMMSBOT_DATA_DIR=/data \
    PORT=3000

# The outbox, the duplicate index and the audit trail: keep them on a volume.
VOLUME ["/data"]
# No .env is read from here: pass settings with --env-file or the orchestrator's secrets.
WORKDIR /opt/commsbot
# Numeric, so a platform can check that the user is not root without reading /etc/passwd.
USER 10001:10001
EXPOSE 3000

# The image has no curl: ask /healthz with Python's standard library. HTTP 503 (storage,
# outbox worker or scheduler in trouble) and no answer both make urlopen raise, so exit 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]

# On SIGTERM commsbot stops taking requests, lets those in flight finish and stops the
# outbox between messages: give it time (docker run --stop-timeout 90, or compose's
# stop_grace_period) rather than Docker's default 10 seconds.
STOPSIGNAL SIGTERM
CMD ["commsbot", "serve"]
