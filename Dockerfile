# TradeFly daemon image: slim, non-root, dependencies from the lock file, health-checked.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 tradefly
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
RUN mkdir -p /app/var && chown tradefly:tradefly /app/var
# Compile the IV kernel into the image (numba's cache, readable by the daemon's user): a fresh
# compile takes ~45 s, which every container start would otherwise pay before trading.
RUN python -c "from market.greeks import warm_up; warm_up()"
USER tradefly
EXPOSE 8088
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8088/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["tradefly"]
CMD ["run", "--config", "config/paper.toml"]
