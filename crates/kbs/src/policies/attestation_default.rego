package policy

import rego.v1

# Default attestation policy of the KBS. It answers an AR4SI trust vector; the KBS derives
# `ear.status` from it (worst tier: 2..31 affirming, 32..95 warning, 96+ contraindicated).
#
# `affirming` needs all three of:
# - executables 3: a registered reference value for EVERY measurement that covers code
#   (TDX: MRTD and RTMR0..3; SNP: the launch measurement; SGX: MRENCLAVE; Azure vTPM: the SNP
#   measurement / MRTD plus PCRs 0, 2, 4, 9 and 11).
# - hardware 2: a hardware TEE whose TCB status is `UpToDate`, or a status the operator named in
#   the reference value `<tee>.tcb_status` (e.g. "SWHardeningNeeded"). Any other status gives 32
#   (known vulnerabilities: warning). The software TEE (sample) always stays at 97.
# - configuration 2: debug off (and for SNP, no migration agent) and init-data whose digest is
#   itself the registered reference value `init_data`; without init-data the TEE's init-data field
#   (MRCONFIGID / HOST_DATA / CONFIGID / PCR 8) must be all zero. Debug or a migration agent gives
#   96 (unsupportable configuration: contraindicated).
# The host controls HOST_DATA / MRCONFIGID, so an init-data document that merely matches them
# proves nothing: its digest must be one the operator registered.
#
# Reference value names: `<tee>.<claim>` for measurements and TCB statuses (the TEE name as on the
# wire, e.g. `tdx.rtmr1`, `az-snp-vtpm.pcr04`), `init_data` for init-data digests (hex).
#
# Defaults are the pessimistic values: executables 33 = unrecognised runtime, hardware 97 =
# unrecognised hardware, configuration 36 = configuration unavailable; the rest make no assertion
# (0, written inline: a rule per constant costs a rule evaluation per appraisal). TEEs without a
# section here (tpm, cca, csv, se, nvidia) keep the defaults: contraindicated.
trust_claims := {
	"executables": appraisal.executables,
	"hardware": appraisal.hardware,
	"configuration": appraisal.configuration,
	"file-system": 0,
	"instance-identity": 0,
	"runtime-opaque": 0,
	"storage-opaque": 0,
	"sourced-data": 0,
}

# One appraisal rule per TEE, chosen by the TEE's claims being in the input; its parts are only
# evaluated for that TEE (one appraisal per RCAR flow: this policy is on the KBS's hot path).
default appraisal := {"executables": 33, "hardware": 97, "configuration": 36}

appraisal := {"executables": sample_executables, "hardware": 97, "configuration": 36} if input.sample

appraisal := {"executables": tdx_executables, "hardware": tdx_hardware, "configuration": tdx_configuration} if input.tdx

appraisal := {"executables": snp_executables, "hardware": snp_hardware, "configuration": snp_configuration} if input.snp

appraisal := {"executables": sgx_executables, "hardware": sgx_hardware, "configuration": sgx_configuration} if input.sgx

appraisal := {
	"executables": az_snp_executables,
	"hardware": az_snp_hardware,
	"configuration": az_snp_configuration,
} if input["az-snp-vtpm"]

appraisal := {
	"executables": az_tdx_executables,
	"hardware": az_tdx_hardware,
	"configuration": az_tdx_configuration,
} if input["az-tdx-vtpm"]

# A TCB status is acceptable when it is UpToDate or listed in the reference value `name`.
tcb_ok(status, _) if status == "UpToDate"

tcb_ok(status, name) if status in query_reference_value(name)

# Init-data: a registered digest, or none at all (the TEE's init-data field is all zero).
init_data_ok(_) if input.init_data_claims.digest in query_reference_value("init_data")

init_data_ok(t) if {
	not input.init_data_claims
	trim_left(t.init_data, "0") == ""
}

##### Software TEE (sample): no hardware root of trust, so hardware stays 97
##### (contraindicated) whatever else matches. Executables can still be recognised.
default sample_executables := 33

sample_executables := 3 if input.sample.measurement in query_reference_value("sample.measurement")

##### Intel TDX
default tdx_executables := 33

tdx_executables := 3 if {
	t := input.tdx
	t.mr_td in query_reference_value("tdx.mr_td")
	t.rtmr0 in query_reference_value("tdx.rtmr0")
	t.rtmr1 in query_reference_value("tdx.rtmr1")
	t.rtmr2 in query_reference_value("tdx.rtmr2")
	t.rtmr3 in query_reference_value("tdx.rtmr3")
}

default tdx_hardware := 97

tdx_hardware := 2 if {
	t := input.tdx
	t.hardware == true
	tcb_ok(t.tcb_status, "tdx.tcb_status")
} else := 32 if {
	input.tdx.hardware == true
}

default tdx_configuration := 36

tdx_configuration := 96 if {
	input.tdx.debug != false
} else := 2 if {
	t := input.tdx
	t.debug == false
	init_data_ok(t)
}

##### AMD SEV-SNP (no TCB status: the verifier already matched the reported TCB to the VCEK)
default snp_executables := 33

snp_executables := 3 if input.snp.measurement in query_reference_value("snp.measurement")

default snp_hardware := 97

snp_hardware := 2 if input.snp.hardware == true

default snp_configuration := 36

snp_configuration := 96 if {
	input.snp.policy_debug_allowed != false
} else := 96 if {
	input.snp.policy_migrate_ma != false
} else := 2 if {
	t := input.snp
	t.policy_debug_allowed == false
	t.policy_migrate_ma == false
	init_data_ok(t)
}

##### Intel SGX (MRENCLAVE is the code; MRSIGNER and ISV fields are the signer's assertions)
default sgx_executables := 33

sgx_executables := 3 if input.sgx.mr_enclave in query_reference_value("sgx.mr_enclave")

default sgx_hardware := 97

sgx_hardware := 2 if {
	t := input.sgx
	t.hardware == true
	tcb_ok(t.tcb_status, "sgx.tcb_status")
} else := 32 if {
	input.sgx.hardware == true
}

default sgx_configuration := 36

sgx_configuration := 96 if {
	input.sgx.debug != false
} else := 2 if {
	t := input.sgx
	t.debug == false
	init_data_ok(t)
}

##### Azure vTPM: the CPU TEE's launch measurement plus the PCRs that measure code (TCG PC Client
##### PFP): 0 firmware, 2 UEFI drivers and option ROMs, 4 boot manager and EFI images (shim, GRUB,
##### UKI), 9 files the OS loader read (kernel, initrd), 11 UKI sections. PCR 8 carries init-data.

##### Azure SNP vTPM
default az_snp_executables := 33

az_snp_executables := 3 if {
	t := input["az-snp-vtpm"]
	t.measurement in query_reference_value("az-snp-vtpm.measurement")
	t.pcr00 in query_reference_value("az-snp-vtpm.pcr00")
	t.pcr02 in query_reference_value("az-snp-vtpm.pcr02")
	t.pcr04 in query_reference_value("az-snp-vtpm.pcr04")
	t.pcr09 in query_reference_value("az-snp-vtpm.pcr09")
	t.pcr11 in query_reference_value("az-snp-vtpm.pcr11")
}

default az_snp_hardware := 97

az_snp_hardware := 2 if input["az-snp-vtpm"].hardware == true

default az_snp_configuration := 36

az_snp_configuration := 96 if {
	input["az-snp-vtpm"].policy_debug_allowed != false
} else := 96 if {
	input["az-snp-vtpm"].policy_migrate_ma != false
} else := 2 if {
	t := input["az-snp-vtpm"]
	t.policy_debug_allowed == false
	t.policy_migrate_ma == false
	init_data_ok(t)
}

##### Azure TDX vTPM (TCB status is `Unknown` when the paravisor leaves SEPT_VE_DISABLE clear)
default az_tdx_executables := 33

az_tdx_executables := 3 if {
	t := input["az-tdx-vtpm"]
	t.mr_td in query_reference_value("az-tdx-vtpm.mr_td")
	t.pcr00 in query_reference_value("az-tdx-vtpm.pcr00")
	t.pcr02 in query_reference_value("az-tdx-vtpm.pcr02")
	t.pcr04 in query_reference_value("az-tdx-vtpm.pcr04")
	t.pcr09 in query_reference_value("az-tdx-vtpm.pcr09")
	t.pcr11 in query_reference_value("az-tdx-vtpm.pcr11")
}

default az_tdx_hardware := 97

az_tdx_hardware := 2 if {
	t := input["az-tdx-vtpm"]
	t.hardware == true
	tcb_ok(t.tcb_status, "az-tdx-vtpm.tcb_status")
} else := 32 if {
	input["az-tdx-vtpm"].hardware == true
}

default az_tdx_configuration := 36

az_tdx_configuration := 96 if {
	input["az-tdx-vtpm"].debug != false
} else := 2 if {
	t := input["az-tdx-vtpm"]
	t.debug == false
	init_data_ok(t)
}
