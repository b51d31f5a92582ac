# A course server: the app's processes (one per core) behind HAProxy with session affinity, in one image.
#   docker build -t vae-explorer .
#   docker run -p 8501:8501 -v vae-home:/data vae-explorer
# (deploy/compose.yaml runs it with a named volume; deploy/kubernetes.yaml runs it on several machines.)
FROM python:3.11-slim-bookworm

# HAProxy from Debian's packages: python -m serve starts it in the foreground with its own config file.
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-extras.txt ./
# torch pinned to its CPU wheel (the default index would bring the CUDA build and several GB of GPU
# libraries); the other requirements then find torch==2.13.0 already installed.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install --no-cache-dir -r requirements-extras.txt

COPY . .
RUN useradd --create-home --uid 10001 explorer && mkdir -p /data && chown explorer /data
USER explorer

# The data home shared by the processes: uploads, trained runs, the projection cache, the identity secret.
ENV VAE_EXPLORER_HOME=/data \
    VAE_MAX_TRAININGS=2 \
    VAE_BROWSER_DAYS=7 \
    PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
# One app process per CPU the container may use (docker run --cpus N, or the machine's cores).
# exec form: docker stop's SIGTERM reaches python -m serve, which stops HAProxy and every process.
CMD ["python", "-m", "serve", "--address", "0.0.0.0", "--port", "8501"]
