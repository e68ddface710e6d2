package policy

import rego.v1

# AR4SI trust vector. Defaults are the pessimistic values:
# executables 33 = unrecognised runtime, hardware 97 = unrecognised hardware,
# configuration 36 = configuration unavailable; the rest make no assertion (0, written inline:
# a rule per constant cost a rule evaluation per appraisal).
default executables := 33
default hardware := 97
default configuration := 36

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": 0,
	"instance-identity": 0,
	"runtime-opaque": 0,
	"storage-opaque": 0,
	"sourced-data": 0,
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
