# The suggest.watch Discord bot. Built and run by docker-compose.yml; on its own:
#   docker build -t suggest-watch . && docker run --env-file .env -v suggest-watch-data:/data suggest-watch
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data

WORKDIR /app

# Dependencies come from pyproject.toml alone, so this layer stays cached until the
# dependency list changes, not on every edit of the bot's code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The package itself, without touching the dependencies installed above.
COPY bot/ ./bot/
RUN pip install --no-deps . && rm -rf build *.egg-info

# Never run as root; the data volume is owned by the bot's user so a fresh named
# volume mounted on /data starts out writable.
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin suggestwatch \
    && mkdir -p /data \
    && chown suggestwatch:suggestwatch /data
USER suggestwatch
VOLUME ["/data"]

# Exec form, so Python itself receives `docker stop`'s SIGTERM: the bot then gives each
# answer being written its last edit, closes the pipeline and exits 0 within seconds
# (compose's stop_grace_period leaves room for that).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
