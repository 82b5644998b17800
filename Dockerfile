# The screening pipeline: `screening worker` by default; every other `screening` command too.
# Build: docker build -t customs-screening:0.1.0 .
# Two stages: the build stage installs the package and its locked dependencies into a venv
# (all of them ship binary wheels: no compiler needed); the runtime stage copies that venv
# and runs as an unprivileged user.
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# The locked versions with their hashes first (a layer of their own, rebuilt only when the lock
# changes), then the package without resolving anything again.
COPY requirements/runtime.lock requirements/
RUN /opt/venv/bin/pip install --no-compile --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md LICENSE ./
COPY pipeline/ pipeline/
# pipeline/default_rules links to rules/: the package carries the default rule set.
COPY rules/ rules/
RUN /opt/venv/bin/pip install --no-compile --no-deps . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM python:3.11.13-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 screening \
    && useradd --system --uid 10001 --gid screening --home-dir /app --shell /usr/sbin/nologin screening \
    && mkdir -p /var/lib/screening \
    && chown screening:screening /var/lib/screening
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The default rule set (used until one is published) and the sample reference data.
COPY rules/ rules/
# The sharing agreements with partner administrations (docs/customs-to-customs.md).
COPY agreements/ agreements/
COPY deploy/sample-data/aeo.csv deploy/sample-data/watchlist.csv deploy/sample-data/LICENSES.md deploy/sample-data/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SCREENING_RULES_DIR=/app/rules \
    SCREENING_AGREEMENTS_DIR=/app/agreements \
    SCREENING_DATA_DIR=/var/lib/screening \
    SCREENING_WEB_HOST=0.0.0.0 \
    SCREENING_WEB_PORT=6066
USER 10001:10001
# The worker's metrics and probes; the workbench's pages.
EXPOSE 6066
EXPOSE 8088
ENTRYPOINT ["screening"]
CMD ["worker"]
