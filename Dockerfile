# Multi-stage build of the production binary (`go build -tags production .`:
# no demo, no demo provider, no simulator), run as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -tags production -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/qsgate .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/qsgate /qsgate
USER nonroot:nonroot
EXPOSE 8080
# The image has no shell or curl: the binary checks itself (GET /healthz on
# QSGATE_LISTEN_ADDR).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/qsgate", "healthcheck"]
# Settings come from the environment (docker run --env-file qsgate.env).
ENTRYPOINT ["/qsgate"]
CMD ["serve"]
