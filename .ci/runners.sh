#!/usr/bin/env bash
# Fetch what the Flink/Spark runner tests need, from Maven Central and PyPI only.
#
#   .ci/runners.sh            # build/fetch everything missing (idempotent), print the paths
#   .ci/runners.sh env        # only print the `export …` lines for what is already there
#   .ci/runners.sh flink|spark|python   # one part only
#
# Into $FLOWCTL_CACHE (default ~/.cache/flowctl); delete that directory to rebuild from scratch:
#   jars/beam-runners-flink-1.19-job-server-$BEAM_JAVA.jar   Beam's Flink job server (shaded)
#   jars/beam-runners-spark-3-job-server-$BEAM_JAVA.jar      Beam's Spark job server (shaded)
#   flink-$FLINK_DIST/                                       a standalone Flink (FLINK_HOME)
# and google-cloud-dataflow-client into .venv (created with scripts/setup if missing).
#
# Beam publishes its job servers as `beam-runners-<runner>-job-server` shadow jars, but the Maven
# Central reachable here serves none of them (any version) and no Beam Java module newer than
# the set below; 2.62.0 is the newest version whose Flink/Spark runner modules resolve with all
# their dependencies. So the job servers are assembled here the way Beam's build does it: the
# runner module + its dependencies, shaded into one executable jar (META-INF/services merged,
# Main-Class = the runner's JobServerDriver). Flink comes from PyPI: the `apache-flink` wheel for
# bin/ and conf/, the `apache-flink-libraries` sdist for lib/; they are only unpacked, never
# installed (they pin an old apache-beam).
set -euo pipefail

CACHE="${FLOWCTL_CACHE:-$HOME/.cache/flowctl}"
BEAM_JAVA="${FLOWCTL_BEAM_JAVA:-2.62.0}"
FLINK_MINOR=1.19
FLINK_JAVA=1.19.0       # what beam-runners-flink-1.19:2.62.0 is built against
FLINK_DIST=1.19.3       # newest 1.19 on PyPI
SPARK_VERSION=3.5.0
SCALA=2.12
PY="${PYTHON:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python}"
[ -x "$PY" ] || PY=python3

say() { echo "runners.sh: $*" >&2; }

FLINK_JAR="$CACHE/jars/beam-runners-flink-$FLINK_MINOR-job-server-$BEAM_JAVA.jar"
SPARK_JAR="$CACHE/jars/beam-runners-spark-3-job-server-$BEAM_JAVA.jar"
FLINK_HOME_DIR="$CACHE/flink-$FLINK_DIST"

print_env() {
  [ -f "$FLINK_JAR" ] && echo "export FLOWCTL_FLINK_JOB_SERVER_JAR=$FLINK_JAR"
  [ -f "$SPARK_JAR" ] && echo "export FLOWCTL_SPARK_JOB_SERVER_JAR=$SPARK_JAR"
  [ -x "$FLINK_HOME_DIR/bin/start-cluster.sh" ] && echo "export FLOWCTL_FLINK_HOME=$FLINK_HOME_DIR"
  return 0
}

# shade NAME MAIN_CLASS DEPENDENCIES_XML: one executable jar from Maven Central artifacts.
shade() {
  local name=$1 main=$2 deps=$3 out="$CACHE/jars/$1.jar" dir="$CACHE/build/$1"
  mkdir -p "$dir" "$CACHE/jars"
  cat >"$dir/pom.xml.new" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>flowctl.ci</groupId>
  <artifactId>$name</artifactId>
  <version>1</version>
  <packaging>jar</packaging>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.release>17</maven.compiler.release>
  </properties>
  <dependencies>
$deps
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-shade-plugin</artifactId>
        <version>3.6.0</version>
        <executions>
          <execution>
            <phase>package</phase>
            <goals><goal>shade</goal></goals>
            <configuration>
              <createDependencyReducedPom>false</createDependencyReducedPom>
              <outputFile>$dir/out.jar</outputFile>
              <filters>
                <filter>
                  <artifact>*:*</artifact>
                  <excludes>
                    <exclude>META-INF/*.SF</exclude>
                    <exclude>META-INF/*.DSA</exclude>
                    <exclude>META-INF/*.RSA</exclude>
                    <exclude>module-info.class</exclude>
                    <exclude>META-INF/versions/*/module-info.class</exclude>
                  </excludes>
                </filter>
              </filters>
              <transformers>
                <transformer implementation="org.apache.maven.plugins.shade.resource.ServicesResourceTransformer"/>
                <transformer implementation="org.apache.maven.plugins.shade.resource.AppendingTransformer">
                  <resource>reference.conf</resource>
                </transformer>
                <transformer implementation="org.apache.maven.plugins.shade.resource.ManifestResourceTransformer">
                  <mainClass>$main</mainClass>
                  <manifestEntries>
                    <Multi-Release>true</Multi-Release>
                    <Add-Opens>java.base/java.lang java.base/java.lang.invoke java.base/java.nio java.base/sun.nio.ch java.base/java.util java.base/java.util.concurrent</Add-Opens>
                  </manifestEntries>
                </transformer>
              </transformers>
            </configuration>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
EOF
  if [ -f "$out" ] && cmp -s "$dir/pom.xml.new" "$dir/pom.xml"; then
    say "$out is up to date"
    return
  fi
  mv "$dir/pom.xml.new" "$dir/pom.xml"
  say "building $out from Maven Central artifacts (mvn package)"
  local started=$SECONDS
  mvn -B -q -f "$dir/pom.xml" package -DskipTests >"$dir/mvn.log" 2>&1 || {
    tail -n 40 "$dir/mvn.log" >&2
    say "mvn failed; full log in $dir/mvn.log"
    return 1
  }
  mv "$dir/out.jar" "$out.tmp" && mv "$out.tmp" "$out"
  rm -rf "$dir/target"
  say "built $out ($(du -h "$out" | cut -f1), $((SECONDS - started)) s)"
}

dep() { # dep GROUP ARTIFACT VERSION
  printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' "$1" "$2" "$3"
}

flink_job_server() {
  shade "beam-runners-flink-$FLINK_MINOR-job-server-$BEAM_JAVA" \
    org.apache.beam.runners.flink.FlinkJobServerDriver \
    "$(dep org.apache.beam "beam-runners-flink-$FLINK_MINOR" "$BEAM_JAVA")
$(dep org.apache.flink flink-clients "$FLINK_JAVA")
$(dep org.slf4j slf4j-simple 2.0.16)"
}

spark_job_server() {
  shade "beam-runners-spark-3-job-server-$BEAM_JAVA" \
    org.apache.beam.runners.spark.SparkJobServerDriver \
    "$(dep org.apache.beam beam-runners-spark-3 "$BEAM_JAVA")
$(dep org.apache.spark "spark-core_$SCALA" "$SPARK_VERSION")
$(dep org.apache.spark "spark-streaming_$SCALA" "$SPARK_VERSION")
$(dep org.apache.spark "spark-sql_$SCALA" "$SPARK_VERSION")
$(dep org.slf4j slf4j-simple 2.0.16)"
}

flink_dist() {
  if [ -x "$FLINK_HOME_DIR/bin/start-cluster.sh" ] && [ -f "$FLINK_HOME_DIR/lib/flink-dist-$FLINK_DIST.jar" ]; then
    say "$FLINK_HOME_DIR is up to date"
    return
  fi
  local wheels="$CACHE/wheels" tmp="$FLINK_HOME_DIR.tmp"
  mkdir -p "$wheels"
  say "downloading apache-flink==$FLINK_DIST and apache-flink-libraries==$FLINK_DIST (no install)"
  "$PY" -m pip download --quiet --no-deps --python-version 3.11 --only-binary=:all: \
    -d "$wheels" "apache-flink==$FLINK_DIST"
  "$PY" -m pip download --quiet --no-deps --no-binary=:all: -d "$wheels" \
    "apache-flink-libraries==$FLINK_DIST"
  rm -rf "$tmp" && mkdir -p "$tmp/unpack"
  "$PY" -m zipfile -e "$wheels"/apache_flink-"$FLINK_DIST"-*.whl "$tmp/unpack/wheel"
  tar xzf "$wheels/apache-flink-libraries-$FLINK_DIST.tar.gz" -C "$tmp/unpack"
  local libs="$tmp/unpack/apache-flink-libraries-$FLINK_DIST/deps"
  mkdir -p "$tmp/log"
  mv "$tmp/unpack/wheel/pyflink/bin" "$tmp/bin"
  mv "$tmp/unpack/wheel/pyflink/conf" "$tmp/conf"
  for d in lib opt plugins licenses; do
    [ -d "$libs/$d" ] && mv "$libs/$d" "$tmp/$d"
  done
  cp "$libs"/bin/* "$tmp/bin/"
  chmod +x "$tmp"/bin/*
  rm -rf "$tmp/unpack" "$FLINK_HOME_DIR" "$wheels"
  mv "$tmp" "$FLINK_HOME_DIR"
  say "Flink $FLINK_DIST in $FLINK_HOME_DIR ($(du -sh "$FLINK_HOME_DIR" | cut -f1))"
}

# The venv needs Dataflow's API client (part of apache-beam[gcp]) for `compile --runner=dataflow`.
python_deps() {
  local root
  root="$(cd "$(dirname "$0")/.." && pwd)"
  [ -x "$root/.venv/bin/python" ] || "$root/scripts/setup"
  PY="$root/.venv/bin/python"
  if ! "$PY" -c "import google.cloud.dataflow" 2>/dev/null; then
    say "installing google-cloud-dataflow-client into $root/.venv"
    "$PY" -m pip install --quiet "google-cloud-dataflow-client>=0.13.0,<0.14.0"
  fi
}

java_tools() {
  if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
    say "installing maven and a JDK (Debian)"
    apt-get update -qq && apt-get install -y -qq maven openjdk-17-jdk-headless >/dev/null
  fi
}

timed() { # timed STEP: run a function and say how long it took
  local started=$SECONDS
  "$@"
  say "$1: $((SECONDS - started)) s"
}

case "${1:-all}" in
  env) print_env ;;
  flink) flink_job_server && flink_dist && print_env ;;
  spark) spark_job_server && print_env ;;
  python) python_deps ;;
  all)
    timed java_tools
    timed python_deps
    timed flink_job_server
    timed spark_job_server
    timed flink_dist
    print_env
    ;;
  *) say "usage: $0 [all|flink|spark|python|env]"; exit 2 ;;
esac
