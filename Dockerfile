# The assistant's image for Kubernetes (deploy/k8s): Python 3.10, every
# dependency from requirements.lock, the project's packages and spaCy
# pipeline (the project editable, so paths stay under /app), and the trained
# model built in. The same image runs the Rasa
# server (python -m rasa_server run ...) and the action server
# (python -m rasa_sdk --actions actions); the manifests choose the command.
FROM python:3.10-slim AS build
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
COPY requirements.lock ./
RUN python -m pip install --no-deps -r requirements.lock
COPY . .
RUN python -m pip install --no-deps --no-build-isolation ./spacy_pipeline -e . \
 && python -m launch.train --fixed-model-name hcsc-faq --out models --quiet

FROM python:3.10-slim
WORKDIR /app
ENV RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 PYTHONUNBUFFERED=1
COPY --from=build /usr/local/lib/python3.10/site-packages /usr/local/lib/python3.10/site-packages
COPY --from=build /usr/local/bin /usr/local/bin
COPY --from=build /app /app
# Never root in the cluster.
RUN useradd --uid 10001 --no-create-home assistant && chown -R assistant /app
USER 10001
EXPOSE 5005 5055
CMD ["python", "-m", "rasa_server", "run", "--model=/app/models/hcsc-faq.tar.gz", "--endpoints=endpoints.yml", "--credentials=credentials.yml", "--port=5005"]
