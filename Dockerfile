# Berth as a container image (docs/deploy.md, "Container image").
#   docker build -t berth .
#   docker run -p 5000:5000 -v berth-data:/var/lib/berth berth
# Configuration: BERTH_* environment variables, or a file mounted and named with --config, e.g.
#   docker run -v ./berth.yml:/etc/berth/berth.yml:ro berth --config /etc/berth/berth.yml

# Build: the runnable jar, with the tests left to CI (they need skopeo, podman and PostgreSQL).
FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package -pl berth-server -am

# Run: a JRE, the jar, and an unprivileged user that owns only the data directory.
FROM eclipse-temurin:25-jre
RUN groupadd --system --gid 10001 berth \
 && useradd --system --uid 10001 --gid berth --home-dir /var/lib/berth --shell /usr/sbin/nologin berth \
 && mkdir -p /opt/berth /var/lib/berth \
 && chown berth:berth /var/lib/berth
COPY --from=build /src/berth-server/target/berth.jar /opt/berth/berth.jar
USER berth
WORKDIR /var/lib/berth
# Listen on every interface inside the container; data (SQLite and blobs on one node) in the volume.
ENV BERTH_SERVER_ADDR=0.0.0.0:5000 \
    BERTH_DATA_DIR=/var/lib/berth
EXPOSE 5000
VOLUME /var/lib/berth
# The JVM footprint of bin/berth; BERTH_JAVA_OPTS adds to it or overrides it, as there. exec makes
# the JVM PID 1, so `docker stop` (SIGTERM) is Berth's graceful shutdown. Arguments given to
# `docker run` follow `serve`.
ENTRYPOINT ["/bin/sh", "-c", "exec java -XX:+UseSerialGC -Xms64m -Xmx192m -XX:MaxDirectMemorySize=96m -Xss512k --enable-native-access=ALL-UNNAMED $BERTH_JAVA_OPTS -jar /opt/berth/berth.jar serve \"$@\"", "berth"]
