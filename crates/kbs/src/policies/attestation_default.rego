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
# (0, written inline: a rule per constant costs a rule evaluation per appraisal).
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

# A TCB status is acceptable when it is UpToDate or listed in the reference value `name`.
tcb_ok(status, _) if status == "UpToDate"

tcb_ok(status, name) if status in query_reference_value(name)

# Init-data: a registered digest, or none at all (the TEE's init-data field is all zero).
init_data_ok(_) if input.init_data_claims.digest in query_reference_value("init_data")

init_data_ok(t) if {
	not input.init_data_claims
	trim_left(t.init_data, "0") == ""
}

# Each rule starts by binding its TEE's claims, so the rules of other TEEs stop at their first
# statement (one appraisal per RCAR flow: this policy is on the KBS's hot path).

##### Software TEE (sample): no hardware root of trust, so hardware stays 97
##### (contraindicated) whatever else matches. Executables can still be recognised.
executables := 3 if {
	t := input.sample
	t.measurement in query_reference_value("sample.measurement")
}

##### Intel TDX
executables := 3 if {
	t := input.tdx
	t.mr_td in query_reference_value("tdx.mr_td")
	t.rtmr0 in query_reference_value("tdx.rtmr0")
	t.rtmr1 in query_reference_value("tdx.rtmr1")
	t.rtmr2 in query_reference_value("tdx.rtmr2")
	t.rtmr3 in query_reference_value("tdx.rtmr3")
}

hardware := 2 if {
	t := input.tdx
	t.hardware == true
	tcb_ok(t.tcb_status, "tdx.tcb_status")
} else := 32 if {
	t := input.tdx
	t.hardware == true
}

configuration := 96 if {
	t := input.tdx
	t.debug != false
} else := 2 if {
	t := input.tdx
	t.debug == false
	init_data_ok(t)
}

##### AMD SEV-SNP (no TCB status: the verifier already matched the reported TCB to the VCEK)
executables := 3 if {
	t := input.snp
	t.measurement in query_reference_value("snp.measurement")
}

hardware := 2 if {
	t := input.snp
	t.hardware == true
}

configuration := 96 if {
	t := input.snp
	t.policy_debug_allowed != false
} else := 96 if {
	t := input.snp
	t.policy_migrate_ma != false
} else := 2 if {
	t := input.snp
	t.policy_debug_allowed == false
	t.policy_migrate_ma == false
	init_data_ok(t)
}

##### Intel SGX (MRENCLAVE is the code; MRSIGNER and ISV fields are the signer's assertions)
executables := 3 if {
	t := input.sgx
	t.mr_enclave in query_reference_value("sgx.mr_enclave")
}

hardware := 2 if {
	t := input.sgx
	t.hardware == true
	tcb_ok(t.tcb_status, "sgx.tcb_status")
} else := 32 if {
	t := input.sgx
	t.hardware == true
}

configuration := 96 if {
	t := input.sgx
	t.debug != false
} else := 2 if {
	t := input.sgx
	t.debug == false
	init_data_ok(t)
}

##### Azure vTPM: the CPU TEE's launch measurement plus the PCRs that measure code (TCG PC Client
##### PFP): 0 firmware, 2 UEFI drivers and option ROMs, 4 boot manager and EFI images (shim, GRUB,
##### UKI), 9 files the OS loader read (kernel, initrd), 11 UKI sections. PCR 8 carries init-data.

##### Azure SNP vTPM
executables := 3 if {
	t := input["az-snp-vtpm"]
	t.measurement in query_reference_value("az-snp-vtpm.measurement")
	t.pcr00 in query_reference_value("az-snp-vtpm.pcr00")
	t.pcr02 in query_reference_value("az-snp-vtpm.pcr02")
	t.pcr04 in query_reference_value("az-snp-vtpm.pcr04")
	t.pcr09 in query_reference_value("az-snp-vtpm.pcr09")
	t.pcr11 in query_reference_value("az-snp-vtpm.pcr11")
}

hardware := 2 if {
	t := input["az-snp-vtpm"]
	t.hardware == true
}

configuration := 96 if {
	t := input["az-snp-vtpm"]
	t.policy_debug_allowed != false
} else := 96 if {
	t := input["az-snp-vtpm"]
	t.policy_migrate_ma != false
} else := 2 if {
	t := input["az-snp-vtpm"]
	t.policy_debug_allowed == false
	t.policy_migrate_ma == false
	init_data_ok(t)
}

##### Azure TDX vTPM (TCB status is `Unknown` when the paravisor leaves SEPT_VE_DISABLE clear)
executables := 3 if {
	t := input["az-tdx-vtpm"]
	t.mr_td in query_reference_value("az-tdx-vtpm.mr_td")
	t.pcr00 in query_reference_value("az-tdx-vtpm.pcr00")
	t.pcr02 in query_reference_value("az-tdx-vtpm.pcr02")
	t.pcr04 in query_reference_value("az-tdx-vtpm.pcr04")
	t.pcr09 in query_reference_value("az-tdx-vtpm.pcr09")
	t.pcr11 in query_reference_value("az-tdx-vtpm.pcr11")
}

hardware := 2 if {
	t := input["az-tdx-vtpm"]
	t.hardware == true
	tcb_ok(t.tcb_status, "az-tdx-vtpm.tcb_status")
} else := 32 if {
	t := input["az-tdx-vtpm"]
	t.hardware == true
}

configuration := 96 if {
	t := input["az-tdx-vtpm"]
	t.debug != false
} else := 2 if {
	t := input["az-tdx-vtpm"]
	t.debug == false
	init_data_ok(t)
}
