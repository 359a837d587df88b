package lambda

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	goruntime "runtime"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/internal/store"
)

// Capacity providers (Lambda Managed Instances, API version 2025-11-30): the compute
// a function attached to one runs on. On AWS that is a fleet of EC2 instances in the
// customer's VPC; in Sluice it is the host Sluice runs on, so a capacity provider is
// always State Active and a function attached to it runs several invocations at once
// in one execution environment (PerExecutionEnvironmentMaxConcurrency), as on AWS
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances.html).
//
// Which members Sluice takes, and why:
//   - PermissionsConfig.CapacityProviderOperatorRoleArn: required by AWS; stored and
//     returned (Sluice starts no instances, so the operator role is never assumed,
//     which loses nothing: it only lets Lambda manage EC2 resources).
//   - VpcConfig: required by AWS with at least one subnet, so refusing it would make
//     capacity providers impossible to create. It names where EC2 instances are
//     launched; Sluice's one "instance" is the host, in the host's network, and the
//     subnets and security groups are stored and returned as given. Function-level
//     VpcConfig (which would restrict a function's network) is still refused.
//   - InstanceRequirements.Architectures: honoured in the one way it can be: it must
//     include this host's architecture (AWS launches only matching instances).
//     AllowedInstanceTypes / ExcludedInstanceTypes: 501 (there are no EC2 types).
//   - CapacityProviderScalingConfig: ScalingMode Auto (AWS's default) is what Sluice
//     does; Manual, ScalingPolicies and MaxVCpuCount steer EC2 scaling: 501.
//   - KmsKeyArn (EBS encryption of the instances): 501.
//   - PropagateTags with Mode Explicit (tags for EC2 resources): 501; None accepted.
//   - TelemetryConfig (the capacity provider's own system logs): 501.
//   - Tags: kept with the record.

const keyCapacityProviders = "/lambda/capacity-providers/"

func capacityProviderKey(name string) string { return keyCapacityProviders + name }

var (
	capacityProviderNameRE = regexp.MustCompile(`^(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:capacity-provider:[a-zA-Z0-9-_]+|[a-zA-Z0-9-_]+)$`)
	capacityProviderARNRE  = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:capacity-provider:[a-zA-Z0-9-_]+$`)
)

// CapacityProvider is Lambda's CapacityProvider shape, with AWS's JSON names.
type CapacityProvider struct {
	CapacityProviderArn           string                         `json:"CapacityProviderArn"`
	State                         string                         `json:"State"`
	VpcConfig                     CapacityProviderVpcConfig      `json:"VpcConfig"`
	PermissionsConfig             CapacityProviderPermissions    `json:"PermissionsConfig"`
	InstanceRequirements          *CapacityProviderInstanceReqs  `json:"InstanceRequirements,omitempty"`
	CapacityProviderScalingConfig *CapacityProviderScalingConfig `json:"CapacityProviderScalingConfig,omitempty"`
	PropagateTags                 *CapacityProviderPropagateTags `json:"PropagateTags,omitempty"`
	LastModified                  string                         `json:"LastModified"`
}

type CapacityProviderVpcConfig struct {
	SubnetIds        []string `json:"SubnetIds"`
	SecurityGroupIds []string `json:"SecurityGroupIds"`
}

type CapacityProviderPermissions struct {
	CapacityProviderOperatorRoleArn string `json:"CapacityProviderOperatorRoleArn"`
}

type CapacityProviderInstanceReqs struct {
	Architectures         []string `json:"Architectures,omitempty"`
	AllowedInstanceTypes  []string `json:"AllowedInstanceTypes,omitempty"`
	ExcludedInstanceTypes []string `json:"ExcludedInstanceTypes,omitempty"`
}

type CapacityProviderScalingConfig struct {
	ScalingMode     string            `json:"ScalingMode,omitempty"`
	MaxVCpuCount    *int              `json:"MaxVCpuCount,omitempty"`
	ScalingPolicies []json.RawMessage `json:"ScalingPolicies,omitempty"`
}

type CapacityProviderPropagateTags struct {
	Mode         string            `json:"Mode,omitempty"`
	ExplicitTags map[string]string `json:"ExplicitTags,omitempty"`
}

// capacityProviderRecord is stored at /lambda/capacity-providers/<name>.
type capacityProviderRecord struct {
	Provider CapacityProvider  `json:"provider"`
	Tags     map[string]string `json:"tags,omitempty"`
}

type createCapacityProviderInput struct {
	CapacityProviderName          string                         `json:"CapacityProviderName"`
	VpcConfig                     *CapacityProviderVpcConfig     `json:"VpcConfig"`
	PermissionsConfig             *CapacityProviderPermissions   `json:"PermissionsConfig"`
	InstanceRequirements          *CapacityProviderInstanceReqs  `json:"InstanceRequirements"`
	CapacityProviderScalingConfig *CapacityProviderScalingConfig `json:"CapacityProviderScalingConfig"`
	PropagateTags                 *CapacityProviderPropagateTags `json:"PropagateTags"`
	KmsKeyArn                     string                         `json:"KmsKeyArn"`
	TelemetryConfig               json.RawMessage                `json:"TelemetryConfig"`
	Tags                          map[string]string              `json:"Tags"`
}

type updateCapacityProviderInput struct {
	CapacityProviderScalingConfig *CapacityProviderScalingConfig `json:"CapacityProviderScalingConfig"`
	PropagateTags                 *CapacityProviderPropagateTags `json:"PropagateTags"`
	TelemetryConfig               json.RawMessage                `json:"TelemetryConfig"`
}

// hostArchitecture is Lambda's name for this host's CPU architecture.
func hostArchitecture() string {
	if goruntime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

func (s *Service) capacityProviderARN(name string) string {
	return "arn:aws:lambda:" + s.region + ":" + s.account + ":capacity-provider:" + name
}

// capacityProviderName resolves a CapacityProviderName (a name or an ARN) to a name.
func (s *Service) capacityProviderName(ref string) (string, error) {
	if ref == "" {
		return "", validation("Value null at 'capacityProviderName' failed to satisfy constraint: Member must not be null")
	}
	if len(ref) > 140 || !capacityProviderNameRE.MatchString(ref) {
		return "", validation("Value '%s' at 'capacityProviderName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
			ref, `(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:capacity-provider:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`)
	}
	if i := strings.LastIndex(ref, ":capacity-provider:"); i >= 0 {
		return ref[i+len(":capacity-provider:"):], nil
	}
	return ref, nil
}

func capacityProviderNotFound(arn string) error {
	return notFound("Capacity provider not found: %s", arn)
}

// checkScaling refuses scaling settings that steer EC2 capacity.
func checkScaling(sc *CapacityProviderScalingConfig) error {
	if sc == nil {
		return nil
	}
	switch sc.ScalingMode {
	case "", "Auto":
	case "Manual":
		return notImplemented("CapacityProviderScalingConfig.ScalingMode Manual is not implemented in Sluice: there are no EC2 instances to scale; Auto (scale execution environments with invocations) is what Sluice does.")
	default:
		return validation("Value '%s' at 'capacityProviderScalingConfig.scalingMode' failed to satisfy constraint: Member must satisfy enum value set: [Auto, Manual]", sc.ScalingMode)
	}
	if len(sc.ScalingPolicies) > 0 {
		return notImplemented("CapacityProviderScalingConfig.ScalingPolicies are not implemented in Sluice: there are no EC2 instances to scale.")
	}
	if sc.MaxVCpuCount != nil {
		return notImplemented("CapacityProviderScalingConfig.MaxVCpuCount is not implemented in Sluice: execution environments share the host's CPUs.")
	}
	return nil
}

func checkPropagateTags(pt *CapacityProviderPropagateTags) error {
	if pt == nil {
		return nil
	}
	switch pt.Mode {
	case "", "None":
		if len(pt.ExplicitTags) > 0 {
			return notImplemented("PropagateTags.ExplicitTags are not implemented in Sluice: there are no managed EC2 resources to tag.")
		}
		return nil
	case "Explicit":
		return notImplemented("PropagateTags Mode Explicit is not implemented in Sluice: there are no managed EC2 resources to tag.")
	}
	return validation("Value '%s' at 'propagateTags.mode' failed to satisfy constraint: Member must satisfy enum value set: [Explicit, None]", pt.Mode)
}

func (in *createCapacityProviderInput) check() error {
	switch {
	case in.VpcConfig == nil:
		return validation("Value null at 'vpcConfig' failed to satisfy constraint: Member must not be null")
	case len(in.VpcConfig.SubnetIds) < 1 || len(in.VpcConfig.SubnetIds) > 16:
		return validation("Value '%v' at 'vpcConfig.subnetIds' failed to satisfy constraint: Member must have length less than or equal to 16 and greater than or equal to 1", in.VpcConfig.SubnetIds)
	case len(in.VpcConfig.SecurityGroupIds) > 5:
		return validation("Value '%v' at 'vpcConfig.securityGroupIds' failed to satisfy constraint: Member must have length less than or equal to 5", in.VpcConfig.SecurityGroupIds)
	case in.PermissionsConfig == nil:
		return validation("Value null at 'permissionsConfig' failed to satisfy constraint: Member must not be null")
	}
	if err := validateRole(in.PermissionsConfig.CapacityProviderOperatorRoleArn); err != nil {
		return err
	}
	if ir := in.InstanceRequirements; ir != nil {
		if len(ir.AllowedInstanceTypes) > 0 {
			return notImplemented("InstanceRequirements.AllowedInstanceTypes is not implemented in Sluice: functions run on the host, not on EC2 instance types.")
		}
		if len(ir.ExcludedInstanceTypes) > 0 {
			return notImplemented("InstanceRequirements.ExcludedInstanceTypes is not implemented in Sluice: functions run on the host, not on EC2 instance types.")
		}
		for _, a := range ir.Architectures {
			if a != "x86_64" && a != "arm64" {
				return validation("Value '[%s]' at 'instanceRequirements.architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]", a)
			}
		}
		if len(ir.Architectures) > 0 && !contains(ir.Architectures, hostArchitecture()) {
			return invalidParam("This Sluice host is %s; a capacity provider limited to %v has no instance to run on.", hostArchitecture(), ir.Architectures)
		}
	}
	if err := checkScaling(in.CapacityProviderScalingConfig); err != nil {
		return err
	}
	if err := checkPropagateTags(in.PropagateTags); err != nil {
		return err
	}
	if in.KmsKeyArn != "" {
		return notImplemented("KmsKeyArn is not implemented in Sluice: there is no KMS to encrypt the instances' storage with.")
	}
	if isSet(in.TelemetryConfig) {
		return notImplemented("TelemetryConfig is not implemented in Sluice: a capacity provider writes no system logs of its own.")
	}
	return nil
}

func (s *Service) createCapacityProvider(c *call) error {
	var in createCapacityProviderInput
	if err := c.decode("CreateCapacityProvider", &in); err != nil {
		return err
	}
	name, err := s.capacityProviderName(in.CapacityProviderName)
	if err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	cp := CapacityProvider{
		CapacityProviderArn:           s.capacityProviderARN(name),
		State:                         "Active",
		VpcConfig:                     *in.VpcConfig,
		PermissionsConfig:             *in.PermissionsConfig,
		InstanceRequirements:          in.InstanceRequirements,
		CapacityProviderScalingConfig: in.CapacityProviderScalingConfig,
		PropagateTags:                 in.PropagateTags,
		LastModified:                  lastModified(s.now()),
	}
	if cp.VpcConfig.SecurityGroupIds == nil {
		cp.VpcConfig.SecurityGroupIds = []string{}
	}
	if cp.CapacityProviderScalingConfig == nil {
		cp.CapacityProviderScalingConfig = &CapacityProviderScalingConfig{ScalingMode: "Auto"}
	} else if cp.CapacityProviderScalingConfig.ScalingMode == "" {
		cp.CapacityProviderScalingConfig.ScalingMode = "Auto"
	}
	rec := capacityProviderRecord{Provider: cp, Tags: in.Tags}
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		if _, err := tx.Get(capacityProviderKey(name)); err == nil {
			return conflict("Capacity provider already exists: %s", cp.CapacityProviderArn)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return store.PutRecord(tx, capacityProviderKey(name), rec)
	})
	if err != nil {
		return err
	}
	s.log.Info("lambda: capacity provider created", "capacityProvider", name)
	// CreateCapacityProvider answers 202 Accepted.
	c.json(http.StatusAccepted, map[string]any{"CapacityProvider": cp})
	return nil
}

// loadCapacityProvider reads a capacity provider in tx, or ResourceNotFoundException.
func (s *Service) loadCapacityProvider(tx store.Tx, name string) (*capacityProviderRecord, error) {
	b, err := tx.Get(capacityProviderKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, capacityProviderNotFound(s.capacityProviderARN(name))
	}
	if err != nil {
		return nil, err
	}
	var rec capacityProviderRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, internalError("decode capacity provider %s: %w", name, err)
	}
	return &rec, nil
}

func (s *Service) getCapacityProvider(c *call) error {
	name, err := s.capacityProviderName(c.param("CapacityProviderName"))
	if err != nil {
		return err
	}
	b, err := s.store.Get(c.r.Context(), capacityProviderKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return capacityProviderNotFound(s.capacityProviderARN(name))
	}
	if err != nil {
		return err
	}
	var rec capacityProviderRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return internalError("decode capacity provider %s: %w", name, err)
	}
	c.json(http.StatusOK, map[string]any{"CapacityProvider": rec.Provider})
	return nil
}

func (s *Service) listCapacityProviders(c *call) error {
	marker, max, err := pagination(c)
	if err != nil {
		return err
	}
	state := c.query("State")
	switch state {
	case "", "Pending", "Active", "Failed", "Deleting":
	default:
		return validation("Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [Pending, Active, Failed, Deleting]", state)
	}
	kvs, err := s.store.List(c.r.Context(), keyCapacityProviders)
	if err != nil {
		return err
	}
	var items []CapacityProvider
	for _, kv := range kvs {
		var rec capacityProviderRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return internalError("decode %s: %w", kv.Key, err)
		}
		if state == "" || rec.Provider.State == state {
			items = append(items, rec.Provider)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].CapacityProviderArn < items[j].CapacityProviderArn })
	out, next := page(items, func(cp CapacityProvider) string { return cp.CapacityProviderArn }, marker, max)
	if out == nil {
		out = []CapacityProvider{}
	}
	resp := map[string]any{"CapacityProviders": out}
	if next != nil {
		resp["NextMarker"] = *next
	}
	c.json(http.StatusOK, resp)
	return nil
}

func (s *Service) updateCapacityProvider(c *call) error {
	name, err := s.capacityProviderName(c.param("CapacityProviderName"))
	if err != nil {
		return err
	}
	var in updateCapacityProviderInput
	if err := c.decode("UpdateCapacityProvider", &in); err != nil {
		return err
	}
	if err := checkScaling(in.CapacityProviderScalingConfig); err != nil {
		return err
	}
	if err := checkPropagateTags(in.PropagateTags); err != nil {
		return err
	}
	if isSet(in.TelemetryConfig) {
		return notImplemented("TelemetryConfig is not implemented in Sluice: a capacity provider writes no system logs of its own.")
	}
	var out CapacityProvider
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		rec, err := s.loadCapacityProvider(tx, name)
		if err != nil {
			return err
		}
		if sc := in.CapacityProviderScalingConfig; sc != nil {
			if sc.ScalingMode == "" {
				sc.ScalingMode = "Auto"
			}
			rec.Provider.CapacityProviderScalingConfig = sc
		}
		if in.PropagateTags != nil {
			rec.Provider.PropagateTags = in.PropagateTags
		}
		rec.Provider.LastModified = lastModified(s.now())
		out = rec.Provider
		return store.PutRecord(tx, capacityProviderKey(name), rec)
	})
	if err != nil {
		return err
	}
	c.json(http.StatusAccepted, map[string]any{"CapacityProvider": out})
	return nil
}

// capacityProviderUsers lists the functions and versions attached to the capacity
// provider arn ("name" or "name:version").
func capacityProviderUsers(tx store.Tx, arn string) ([]string, error) {
	var users []string
	for _, prefix := range []string{keyFunctions, keyVersions} {
		kvs, err := tx.List(prefix)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			var rec struct {
				Config Configuration `json:"config"`
			}
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				return nil, internalError("decode %s: %w", kv.Key, err)
			}
			if rec.Config.capacityProviderArn() == arn {
				users = append(users, rec.Config.FunctionArn)
			}
		}
	}
	return users, nil
}

func (s *Service) deleteCapacityProvider(c *call) error {
	name, err := s.capacityProviderName(c.param("CapacityProviderName"))
	if err != nil {
		return err
	}
	var out CapacityProvider
	err = s.store.Update(c.r.Context(), func(tx store.Tx) error {
		rec, err := s.loadCapacityProvider(tx, name)
		if err != nil {
			return err
		}
		users, err := capacityProviderUsers(tx, rec.Provider.CapacityProviderArn)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			// AWS refuses to delete a capacity provider that function versions use:
			// ResourceConflictException; detach or delete the functions first.
			return conflict("Capacity provider %s is in use by function versions (%s). Delete the functions or remove their capacity provider configuration first.",
				rec.Provider.CapacityProviderArn, strings.Join(users, ", "))
		}
		out = rec.Provider
		return tx.Delete(capacityProviderKey(name))
	})
	if err != nil {
		return err
	}
	out.State = "Deleting"
	s.log.Info("lambda: capacity provider deleted", "capacityProvider", name)
	c.json(http.StatusAccepted, map[string]any{"CapacityProvider": out})
	return nil
}
