package policy

import rego.v1

# AR4SI trust vector. Defaults are the pessimistic values:
# executables 33 = unrecognised runtime, hardware 97 = unrecognised hardware,
# configuration 36 = configuration unavailable; the rest make no assertion.
default executables := 33
default hardware := 97
default configuration := 36
default file_system := 0
default instance_identity := 0
default runtime_opaque := 0
default storage_opaque := 0
default sourced_data := 0

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": file_system,
	"instance-identity": instance_identity,
	"runtime-opaque": runtime_opaque,
	"storage-opaque": storage_opaque,
	"sourced-data": sourced_data,
}

##### Software TEE (sample): no hardware root of trust, so hardware stays 97
##### (contraindicated) whatever else matches. Executables can still be recognised.
executables := 3 if {
	input.sample
	input.sample.measurement in query_reference_value("sample.measurement")
}

##### Hardware TEEs: measurements against reference values.
executables := 3 if {
	input.tdx
	input.tdx.mr_td in query_reference_value("tdx.mr_td")
}

hardware := 2 if {
	input.tdx
	input.tdx.hardware == true
}

executables := 3 if {
	input.snp
	input.snp.measurement in query_reference_value("snp.measurement")
}

hardware := 2 if {
	input.snp
	input.snp.hardware == true
}

executables := 3 if {
	input.sgx
	input.sgx.mr_enclave in query_reference_value("sgx.mr_enclave")
}

hardware := 2 if {
	input.sgx
	input.sgx.hardware == true
}

configuration := 2 if {
	input.init_data_claims
}
