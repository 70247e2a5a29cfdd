module github.com/workerskv/workerskv/internal/rigs

go 1.26.0

require (
	github.com/getkin/kin-openapi v0.153.0
	github.com/workerskv/workerskv v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
	golang.org/x/mod v0.27.0
)

require (
	github.com/go-openapi/jsonpointer v0.22.5 // indirect
	github.com/go-openapi/swag/jsonname v0.25.5 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/google/go-querystring v1.2.0 // indirect
	github.com/gorilla/mux v1.8.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	go.yaml.in/yaml/v4 v4.0.0 // indirect
	golang.org/x/text v0.14.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

// The rigs are never released: they test the working tree of the root module.
replace github.com/workerskv/workerskv => ../..
