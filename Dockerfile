# waitboard service image. The Redis is the operator's (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    WAITBOARD_ENV=production WAITBOARD_CONFIG=/etc/waitboard/waitboard.toml

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY waitboard ./waitboard
COPY kiosk_templates ./kiosk_templates
RUN pip install -c constraints.txt . && useradd --system --uid 10001 waitboard

USER waitboard
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD \
  python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
CMD ["waitboard", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
