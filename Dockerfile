# One image for every sync2gear process: API, projections, scheduler, worker.
# The command picks the role (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# espeak-ng speaks text-to-speech announcements when Google Cloud TTS is not configured.
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY domain domain
COPY application application
COPY projections projections
COPY infra infra
COPY interfaces interfaces
# Editable: the code runs from /app, so non-Python files (the web console's
# HTML, CSS and JS under interfaces/web) are served from where they were copied.
RUN pip install --no-deps -e .

# Run unprivileged; /media is the local media store (a volume shared by the
# API replicas and the workers; it takes this ownership when first created).
RUN useradd --system --uid 1000 --home-dir /app sync2gear \
    && mkdir -p /media && chown sync2gear /media
USER sync2gear
ENV MEDIA_DIR=/media DATA_DIR=/tmp/sync2gear-data
EXPOSE 8000
CMD ["sync2gear", "run", "--host", "0.0.0.0", "--port", "8000"]
