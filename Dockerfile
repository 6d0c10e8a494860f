# The flow-run image for the ECS work pool: slim, non-root, dependencies from uv.lock only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    GX_ANALYTICS_ENABLED=false \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /opt/music-etl

# Dependencies first (a layer that changes only with the lock file), then the code.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY cli/ cli/
COPY flows/ flows/
COPY tasks/ tasks/
COPY music_etl/ music_etl/
COPY expectations/ expectations/
RUN uv sync --frozen --no-dev

RUN useradd --create-home --uid 10001 etl
USER etl
ENV PREFECT_HOME=/home/etl/.prefect

# Prefect's ECS worker sets the command (it runs the deployment's flow run); this default lets
# the image be tried by hand: docker run IMAGE music-etl run --help
CMD ["music-etl", "--help"]
