# The flow-run image for the ECS work pool: non-root, dependencies exactly from uv.lock (frozen,
# no dev or deploy groups), no uv, compilers, caches or tests in the final stage.
# BASE_IMAGE: any Debian-like image with python3.11 and venv (users: python:3.11-slim; machines
# without Docker Hub: local/debian-python:bookworm from deployments/local-base-image.sh).
ARG BASE_IMAGE=python:3.11-slim

# ---- builder: makes /opt/venv with the base's own python, so the final stage (same base) can run it
FROM ${BASE_IMAGE} AS builder
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
# uv in a throwaway venv: Debian's python is PEP 668 managed, python:3.11-slim's is not; both work.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check uv==0.13.9
WORKDIR /opt/music-etl
# Dependencies first: this layer changes only with the lock file.
COPY pyproject.toml uv.lock README.md ./
RUN /opt/uv/bin/uv sync --frozen --no-default-groups --no-install-project --python "$(command -v python3)"
COPY cli/ cli/
COPY flows/ flows/
COPY tasks/ tasks/
COPY music_etl/ music_etl/
# The project itself is installed editable: its .pth points at /opt/music-etl, where the final
# stage puts the code (one copy, also the flow runs' working directory).
RUN /opt/uv/bin/uv sync --frozen --no-default-groups --python "$(command -v python3)"
# What the runtime never imports (measured: README, "The image"): the packages' own test suites
# (~100 MB: pandas, numpy, scipy, pyarrow, ...) and pyarrow's C++ headers and sources.
RUN site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    && find "$site" -mindepth 2 -maxdepth 4 -type d -name tests -prune -exec rm -rf {} + \
    && rm -rf "$site/pyarrow/include" "$site/pyarrow/src" \
    && find "$site" \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \) -delete

# ---- runtime: the venv and the code, nothing else
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    GX_ANALYTICS_ENABLED=false \
    PATH=/opt/venv/bin:$PATH
RUN useradd --create-home --uid 10001 etl 2>/dev/null || \
    (echo 'etl:x:10001:10001::/home/etl:/bin/sh' >> /etc/passwd && mkdir -p /home/etl && chown 10001 /home/etl)
COPY --from=builder /opt/venv /opt/venv
WORKDIR /opt/music-etl
COPY cli/ cli/
COPY flows/ flows/
COPY tasks/ tasks/
COPY music_etl/ music_etl/
COPY expectations/ expectations/
COPY prefect.yaml ./
USER etl
ENV PREFECT_HOME=/home/etl/.prefect
# Prefect's ECS/Docker workers set the command (they run the deployment's flow run); this
# default lets the image be tried by hand: docker run IMAGE music-etl run --help
CMD ["music-etl", "--help"]
