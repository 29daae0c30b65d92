# wxtodo's container image, for WeChat Cloud Hosting (微信云托管), which
# builds it from this file, or any container platform.
#
#   docker build -t wxtodo .
#   docker run -p 80:80 -e DATABASE_URL=postgres://... -e WECHAT_APPID=wx... -e DATA_KEY=... wxtodo
#
# Build stage: a static binary (pure Go, modernc.org/sqlite needs no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/wxtodo .

# Run stage: distroless's static image holds CA certificates, /etc/passwd
# with the nonroot user (65532) and nothing else: no shell, no package
# manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wxtodo /wxtodo
# Cloud Hosting mode: the platform's headers identify callers, WeChat's
# APIs go through its open-API service, listen on PORT (80). Set
# DATABASE_URL, WECHAT_APPID and DATA_KEY in the service's settings.
ENV CLOUD_HOSTING=true PORT=80
EXPOSE 80
USER nonroot:nonroot
ENTRYPOINT ["/wxtodo"]
