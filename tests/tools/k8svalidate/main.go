// Command k8svalidate checks rendered Kubernetes manifests offline, without
// an API server and without downloaded JSON schemas.
//
// Every YAML document is decoded into the Go type that k8s.io/api defines
// for its apiVersion and kind, strictly: an unknown or misspelled field, a
// field of the wrong type, a duplicate key or an unknown apiVersion/kind is
// an error. A few checks the API server would make on top of the types
// follow (names, labels, selectors, volume mounts, probe ports, RBAC verbs).
//
// Usage: k8svalidate FILE... ("-" reads standard input). Prints one line per
// document ("ok <kind>/<name>") or per problem ("FILE: doc N (<kind>/<name>):
// problem") and exits 1 when there was any problem, 2 on usage errors.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

var scheme = runtime.NewScheme()

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, rbacv1.AddToScheme,
		coordinationv1.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
}

// problems collects the findings of one document.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// decode turns one YAML document into its typed object, strictly.
func decode(doc []byte) (runtime.Object, schema.GroupVersionKind, error) {
	var gvk schema.GroupVersionKind
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, gvk, fmt.Errorf("not valid YAML: %v", err)
	}
	var tm metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return nil, gvk, fmt.Errorf("not a Kubernetes object: %v", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, gvk, errors.New("apiVersion and kind are required")
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil, gvk, fmt.Errorf("bad apiVersion %q: %v", tm.APIVersion, err)
	}
	gvk = gv.WithKind(tm.Kind)
	obj, err := scheme.New(gvk)
	if err != nil {
		return nil, gvk, fmt.Errorf("unknown apiVersion/kind %s %s", tm.APIVersion, tm.Kind)
	}
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, gvk, fmt.Errorf("does not match %s: %v", gvk, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return nil, gvk, fmt.Errorf("does not match %s: %s", gvk, strings.Join(msgs, "; "))
	}
	return obj, gvk, nil
}

func checkMeta(p *problems, m *metav1.ObjectMeta, namespaced bool) {
	if m.Name == "" {
		p.add("metadata.name is required")
	} else {
		for _, e := range validation.IsDNS1123Subdomain(m.Name) {
			p.add("metadata.name %q: %s", m.Name, e)
		}
	}
	if !namespaced && m.Namespace != "" {
		p.add("metadata.namespace set on a cluster-scoped object")
	}
	if m.Namespace != "" {
		for _, e := range validation.IsDNS1123Label(m.Namespace) {
			p.add("metadata.namespace %q: %s", m.Namespace, e)
		}
	}
	checkLabels(p, "metadata.labels", m.Labels)
	for k := range m.Annotations {
		for _, e := range validation.IsQualifiedName(strings.ToLower(k)) {
			p.add("metadata.annotations key %q: %s", k, e)
		}
	}
}

func checkLabels(p *problems, where string, l map[string]string) {
	for k, v := range l {
		for _, e := range validation.IsQualifiedName(k) {
			p.add("%s key %q: %s", where, k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			p.add("%s[%s] value %q: %s", where, k, v, e)
		}
	}
}

func checkPodSpec(p *problems, where string, s *corev1.PodSpec) {
	if len(s.Containers) == 0 {
		p.add("%s.containers: at least one container is required", where)
	}
	vols := map[string]bool{}
	for i, v := range s.Volumes {
		if v.HostPath != nil {
			if !strings.HasPrefix(v.HostPath.Path, "/") {
				p.add("%s.volumes[%s].hostPath.path %q is not absolute", where, v.Name, v.HostPath.Path)
			}
			if t := v.HostPath.Type; t != nil && !hostPathTypes[*t] {
				p.add("%s.volumes[%s].hostPath.type %q is not a known type", where, v.Name, *t)
			}
		}
		for _, e := range validation.IsDNS1123Label(v.Name) {
			p.add("%s.volumes[%d].name %q: %s", where, i, v.Name, e)
		}
		if vols[v.Name] {
			p.add("%s.volumes: duplicate name %q", where, v.Name)
		}
		vols[v.Name] = true
	}
	all := append(append([]corev1.Container{}, s.InitContainers...), s.Containers...)
	names := map[string]bool{}
	for _, c := range all {
		cw := fmt.Sprintf("%s.containers[%s]", where, c.Name)
		for _, e := range validation.IsDNS1123Label(c.Name) {
			p.add("%s.name %q: %s", cw, c.Name, e)
		}
		if names[c.Name] {
			p.add("%s: duplicate container name", cw)
		}
		names[c.Name] = true
		if c.Image == "" {
			p.add("%s.image is required", cw)
		}
		switch c.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			p.add("%s.imagePullPolicy %q is not Always, IfNotPresent or Never", cw, c.ImagePullPolicy)
		}
		checkSecurityContext(p, cw, c.SecurityContext)
		ports := map[string]bool{}
		for _, port := range c.Ports {
			if port.ContainerPort < 1 || port.ContainerPort > 65535 {
				p.add("%s.ports: containerPort %d out of range", cw, port.ContainerPort)
			}
			switch port.Protocol {
			case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
			default:
				p.add("%s.ports: protocol %q is not TCP, UDP or SCTP", cw, port.Protocol)
			}
			if port.Name != "" {
				for _, e := range validation.IsValidPortName(port.Name) {
					p.add("%s.ports name %q: %s", cw, port.Name, e)
				}
				ports[port.Name] = true
			}
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				p.add("%s.volumeMounts: %q names no volume of the pod", cw, m.Name)
			}
			if !strings.HasPrefix(m.MountPath, "/") {
				p.add("%s.volumeMounts[%s].mountPath %q is not absolute", cw, m.Name, m.MountPath)
			}
		}
		for _, e := range c.Env {
			if len(validation.IsEnvVarName(e.Name)) > 0 {
				p.add("%s.env: invalid name %q", cw, e.Name)
			}
			if e.Value != "" && e.ValueFrom != nil {
				p.add("%s.env[%s]: value and valueFrom are exclusive", cw, e.Name)
			}
		}
		for kind, pr := range map[string]*corev1.Probe{
			"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe,
			"startupProbe": c.StartupProbe} {
			if pr == nil {
				continue
			}
			handlers := 0
			if pr.HTTPGet != nil {
				handlers++
				port := pr.HTTPGet.Port
				if port.StrVal != "" && !ports[port.StrVal] {
					p.add("%s.%s: port %q names no container port", cw, kind, port.StrVal)
				}
				if !strings.HasPrefix(pr.HTTPGet.Path, "/") {
					p.add("%s.%s: path %q is not absolute", cw, kind, pr.HTTPGet.Path)
				}
			}
			if pr.TCPSocket != nil {
				handlers++
			}
			if pr.Exec != nil {
				handlers++
			}
			if pr.GRPC != nil {
				handlers++
			}
			if handlers != 1 {
				p.add("%s.%s: exactly one handler is required, found %d", cw, kind, handlers)
			}
		}
	}
}

var hostPathTypes = map[corev1.HostPathType]bool{
	corev1.HostPathUnset: true, corev1.HostPathDirectoryOrCreate: true,
	corev1.HostPathDirectory: true, corev1.HostPathFileOrCreate: true,
	corev1.HostPathFile: true, corev1.HostPathSocket: true,
	corev1.HostPathCharDev: true, corev1.HostPathBlockDev: true,
}

// checkSecurityContext makes the API server's consistency checks: no
// privilege escalation cannot go with privileged or with CAP_SYS_ADMIN.
func checkSecurityContext(p *problems, cw string, sc *corev1.SecurityContext) {
	if sc == nil {
		return
	}
	if sc.Capabilities != nil {
		for _, c := range append(append([]corev1.Capability{}, sc.Capabilities.Add...), sc.Capabilities.Drop...) {
			if c == "" || strings.ContainsAny(string(c), " \t") {
				p.add("%s.securityContext.capabilities: invalid capability %q", cw, c)
			}
		}
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		return
	}
	if sc.Privileged != nil && *sc.Privileged {
		p.add("%s.securityContext: allowPrivilegeEscalation false with privileged true", cw)
	}
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			if c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN" {
				p.add("%s.securityContext: allowPrivilegeEscalation false with capability SYS_ADMIN", cw)
			}
		}
	}
}

func checkSelector(p *problems, where string, sel *metav1.LabelSelector, podLabels map[string]string) {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		p.add("%s.selector is required and must not be empty", where)
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		p.add("%s.selector: %v", where, err)
		return
	}
	if !s.Matches(labels.Set(podLabels)) {
		p.add("%s.selector does not match the pod template's labels", where)
	}
}

func checkRules(p *problems, rules []rbacv1.PolicyRule) {
	for i, r := range rules {
		if len(r.Verbs) == 0 {
			p.add("rules[%d]: verbs are required", i)
		}
		if len(r.NonResourceURLs) == 0 && len(r.Resources) == 0 {
			p.add("rules[%d]: resources or nonResourceURLs are required", i)
		}
	}
}

func check(obj runtime.Object) problems {
	var p problems
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		checkMeta(&p, &o.ObjectMeta, true)
		checkLabels(&p, "spec.template.metadata.labels", o.Spec.Template.Labels)
		checkSelector(&p, "spec", o.Spec.Selector, o.Spec.Template.Labels)
		checkPodSpec(&p, "spec.template.spec", &o.Spec.Template.Spec)
	case *appsv1.Deployment:
		checkMeta(&p, &o.ObjectMeta, true)
		checkSelector(&p, "spec", o.Spec.Selector, o.Spec.Template.Labels)
		checkPodSpec(&p, "spec.template.spec", &o.Spec.Template.Spec)
	case *corev1.Pod:
		checkMeta(&p, &o.ObjectMeta, true)
		checkPodSpec(&p, "spec", &o.Spec)
	case *corev1.ConfigMap:
		checkMeta(&p, &o.ObjectMeta, true)
		for k := range o.Data {
			for _, e := range validation.IsConfigMapKey(k) {
				p.add("data key %q: %s", k, e)
			}
		}
	case *corev1.Service:
		checkMeta(&p, &o.ObjectMeta, true)
		if len(o.Spec.Ports) == 0 && o.Spec.ClusterIP != corev1.ClusterIPNone {
			p.add("spec.ports: at least one port is required")
		}
	case *rbacv1.ClusterRole:
		checkMeta(&p, &o.ObjectMeta, false)
		checkRules(&p, o.Rules)
	case *rbacv1.Role:
		checkMeta(&p, &o.ObjectMeta, true)
		checkRules(&p, o.Rules)
	case *rbacv1.ClusterRoleBinding:
		checkMeta(&p, &o.ObjectMeta, false)
		if o.RoleRef.Name == "" || o.RoleRef.Kind == "" {
			p.add("roleRef.kind and roleRef.name are required")
		}
		if len(o.Subjects) == 0 {
			p.add("subjects: at least one subject is required")
		}
	case *rbacv1.RoleBinding:
		checkMeta(&p, &o.ObjectMeta, true)
		if o.RoleRef.Name == "" || o.RoleRef.Kind == "" {
			p.add("roleRef.kind and roleRef.name are required")
		}
	case metav1.Object:
		if o.GetName() == "" {
			p.add("metadata.name is required")
		}
	}
	return p
}

// documents splits a multi-document YAML stream, skipping empty documents
// (comments only, as `helm template` leaves between templates).
func documents(r io.Reader) ([][]byte, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		d, err := yr.Read()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		if isEmpty(d) {
			continue
		}
		docs = append(docs, d)
	}
}

func isEmpty(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			return false
		}
	}
	return true
}

func validateFile(name string) (ok, bad int) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Printf("%s: %v\n", name, err)
			return 0, 1
		}
		defer f.Close()
		r = f
	}
	docs, err := documents(r)
	if err != nil {
		fmt.Printf("%s: cannot split YAML documents: %v\n", name, err)
		bad++
	}
	if len(docs) == 0 && err == nil {
		fmt.Printf("%s: no documents\n", name)
		return 0, 1
	}
	for i, d := range docs {
		obj, gvk, err := decode(d)
		if err != nil {
			fmt.Printf("%s: doc %d: %v\n", name, i+1, err)
			bad++
			continue
		}
		id := gvk.Kind
		if m, isObj := obj.(metav1.Object); isObj {
			id += "/" + m.GetName()
		}
		if p := check(obj); len(p) > 0 {
			for _, msg := range p {
				fmt.Printf("%s: doc %d (%s): %s\n", name, i+1, id, msg)
			}
			bad++
			continue
		}
		fmt.Printf("ok %s %s\n", gvk.GroupVersion(), id)
		ok++
	}
	return ok, bad
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: k8svalidate FILE... (- for standard input)")
		os.Exit(2)
	}
	total, failed := 0, 0
	for _, name := range os.Args[1:] {
		ok, bad := validateFile(name)
		total += ok + bad
		failed += bad
	}
	fmt.Printf("%d documents, %d invalid\n", total, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
