# Multi-stage build of the same binary `go build .` makes, run as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/qsgate .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/qsgate /qsgate
USER nonroot:nonroot
EXPOSE 8080
# Settings come from the environment (docker run --env-file qsgate.env).
ENTRYPOINT ["/qsgate"]
CMD ["serve"]
