// golibcni: a small runtime built on Go's libcni (github.com/containernetworking/cni/libcni),
// driving CNI network configs the way cnitool and containerd do. cnikit's interop tests use it
// as the reference runtime: whatever golibcni adds, cnikit must be able to check and delete,
// and the other way round.
//
//	golibcni [flags] add|check|del|gc|status|cached <network> [<netns>]
//
// Environment (as cnitool): NETCONFPATH (default /etc/cni/net.d), CNI_PATH, CNI_IFNAME
// (default eth0), CNI_ARGS ("K=V;K=V"), CAP_ARGS (JSON object of capability arguments).
//
// Flags (before or after the command):
//
//	-cache-dir DIR      libcni result cache directory (NewCNIConfigWithCacheDir; default /var/lib/cni)
//	-container-id ID    container ID (default: "cnitool-" + hex of the first 10 bytes of
//	                    sha512(absolute netns path), as cnitool)
//	-ifname NAME        interface name (overrides CNI_IFNAME)
//	-conflist FILE      load this .conflist (or single-plugin .conf) instead of searching NETCONFPATH
//	-valid ID/IFNAME    gc: an attachment to keep (repeatable)
//
// libcni 1.1.2 has no GC or STATUS; golibcni emulates the behaviour newer libcni versions have,
// using only libcni 1.1.2 calls: gc DELs (DelNetworkList) every cached attachment of the network
// that is not in -valid, with the cached CNI_ARGS and capability args
// (GetNetworkListCachedConfig), then, for cniVersion >= 1.1.0, sends GC to every plugin with
// cni.dev/valid-attachments; status succeeds below 1.1.0, otherwise sends STATUS to every plugin.
//
// cached prints what libcni reads back from the result cache for the attachment, as JSON:
// {"result": GetNetworkListCachedResult, "config": the cached config bytes as text,
// "cniArgs" and "capabilityArgs": from GetNetworkListCachedConfig}.
//
// On add the result is printed as libcni's Result.Print does (indented JSON). Errors go to
// stderr and give exit status 1; usage errors give 2.
package main

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	cacheDir    string
	containerID string
	ifName      string
	conflist    string
	valid       stringList
}

var errUsage = errors.New("usage")

const usage = `usage: golibcni [flags] add|check|del|gc|status|cached <network> [<netns>]

flags:
  -cache-dir DIR      result cache directory (default /var/lib/cni)
  -container-id ID    container ID (default: cnitool's, derived from the netns path)
  -ifname NAME        interface name (default $CNI_IFNAME or eth0)
  -conflist FILE      use this config file instead of searching $NETCONFPATH
  -valid ID/IFNAME    gc: an attachment to keep (repeatable)

env: NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS
`

// parseCommandLine accepts flags anywhere (the standard flag package stops at the first
// positional argument, so parsing resumes after each one).
func parseCommandLine(args []string) (*options, []string, error) {
	opts := &options{}
	fs := flag.NewFlagSet("golibcni", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.cacheDir, "cache-dir", "", "")
	fs.StringVar(&opts.containerID, "container-id", "", "")
	fs.StringVar(&opts.ifName, "ifname", "", "")
	fs.StringVar(&opts.conflist, "conflist", "", "")
	fs.Var(&opts.valid, "valid", "")
	var positionals []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			positionals = append(positionals, rest[1:]...)
			break
		}
		positionals = append(positionals, rest[0])
		args = rest[1:]
	}
	return opts, positionals, nil
}

// cnitoolContainerID derives the container ID the way cnitool does.
func cnitoolContainerID(absNetns string) string {
	sum := sha512.Sum512([]byte(absNetns))
	return "cnitool-" + hex.EncodeToString(sum[:10])
}

// parseCniArgs is cnitool's strict CNI_ARGS parser.
func parseCniArgs(s string) ([][2]string, error) {
	var out [][2]string
	for _, pair := range strings.Split(s, ";") {
		kv := strings.Split(pair, "=")
		if len(kv) != 2 || kv[0] == "" || kv[1] == "" {
			return nil, fmt.Errorf("invalid CNI_ARGS pair %q", pair)
		}
		out = append(out, [2]string{kv[0], kv[1]})
	}
	return out, nil
}

func loadList(opts *options, name string) (*libcni.NetworkConfigList, error) {
	if opts.conflist != "" {
		data, err := os.ReadFile(opts.conflist)
		if err != nil {
			return nil, err
		}
		var probe map[string]interface{}
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("error parsing %s: %w", opts.conflist, err)
		}
		var list *libcni.NetworkConfigList
		if _, isList := probe["plugins"]; isList {
			list, err = libcni.ConfListFromFile(opts.conflist)
		} else {
			var conf *libcni.NetworkConfig
			if conf, err = libcni.ConfFromFile(opts.conflist); err == nil {
				list, err = libcni.ConfListFromConf(conf)
			}
		}
		if err != nil {
			return nil, err
		}
		if name != "" && name != list.Name {
			return nil, fmt.Errorf("network %q does not match the name %q in %s", name, list.Name, opts.conflist)
		}
		return list, nil
	}
	dir := os.Getenv("NETCONFPATH")
	if dir == "" {
		dir = "/etc/cni/net.d"
	}
	return libcni.LoadConfList(dir, name)
}

// cacheEntry is the part of libcni's cache file golibcni's gc needs. `netns` is not written by
// libcni 1.1.2 but by newer libcni (and cnikit); it is used when present.
type cacheEntry struct {
	Kind        string `json:"kind"`
	ContainerID string `json:"containerId"`
	IfName      string `json:"ifName"`
	NetworkName string `json:"networkName"`
	NetNS       string `json:"netns"`
}

func gcNetworkList(ctx context.Context, cni *libcni.CNIConfig, cacheDir string, list *libcni.NetworkConfigList, valid []string) error {
	keep := map[string]bool{}
	attachments := []map[string]string{}
	for _, v := range valid {
		i := strings.LastIndex(v, "/")
		if i <= 0 || i == len(v)-1 {
			return fmt.Errorf("%w: -valid wants CONTAINERID/IFNAME, got %q", errUsage, v)
		}
		keep[v] = true
		attachments = append(attachments, map[string]string{"containerID": v[:i], "ifname": v[i+1:]})
	}
	if cacheDir == "" {
		cacheDir = libcni.CacheDir
	}
	var errs []string
	entries, err := os.ReadDir(filepath.Join(cacheDir, "results"))
	if err == nil { // an unreadable cache means nothing to collect (as libcni)
		for _, e := range entries { // os.ReadDir sorts by name
			data, err := os.ReadFile(filepath.Join(cacheDir, "results", e.Name()))
			if err != nil {
				continue
			}
			var c cacheEntry
			if json.Unmarshal(data, &c) != nil || c.Kind != libcni.CNICacheV1 || c.IfName == "" || c.NetworkName == "" {
				continue
			}
			if c.NetworkName != list.Name || keep[c.ContainerID+"/"+c.IfName] {
				continue
			}
			rt := &libcni.RuntimeConf{ContainerID: c.ContainerID, IfName: c.IfName, NetNS: c.NetNS}
			_, cachedRt, err := cni.GetNetworkListCachedConfig(list, rt)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if cachedRt != nil {
				rt = cachedRt
			}
			if err := cni.DelNetworkList(ctx, list, rt); err != nil {
				errs = append(errs, fmt.Sprintf("failed to delete stale attachment %s %s: %v", rt.ContainerID, rt.IfName, err))
			}
		}
	}
	if ok, err := version.GreaterThanOrEqualTo(list.CNIVersion, "1.1.0"); err != nil {
		return err
	} else if ok {
		inject := map[string]interface{}{
			"name":                      list.Name,
			"cniVersion":                list.CNIVersion,
			"cni.dev/valid-attachments": attachments,
			"cni.dev/attachments":       attachments,
		}
		for _, plugin := range list.Plugins {
			if err := execEach(ctx, cni, plugin, inject, "GC"); err != nil {
				errs = append(errs, fmt.Sprintf("failed to GC plugin %s: %v", plugin.Network.Type, err))
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

func statusNetworkList(ctx context.Context, cni *libcni.CNIConfig, list *libcni.NetworkConfigList) error {
	if ok, err := version.GreaterThanOrEqualTo(list.CNIVersion, "1.1.0"); err != nil || !ok {
		return err
	}
	inject := map[string]interface{}{"name": list.Name, "cniVersion": list.CNIVersion}
	for _, plugin := range list.Plugins {
		if err := execEach(ctx, cni, plugin, inject, "STATUS"); err != nil {
			return err
		}
	}
	return nil
}

// execEach runs one attachment-less command (GC, STATUS) on a plugin with libcni's invoke.
func execEach(ctx context.Context, cni *libcni.CNIConfig, plugin *libcni.NetworkConfig, inject map[string]interface{}, command string) error {
	conf, err := libcni.InjectConf(plugin, inject)
	if err != nil {
		return err
	}
	pluginPath, err := invoke.FindInPath(plugin.Network.Type, cni.Path)
	if err != nil {
		return err
	}
	args := &invoke.Args{Command: command, Path: strings.Join(cni.Path, string(os.PathListSeparator))}
	return invoke.ExecPluginWithoutResult(ctx, pluginPath, conf.Bytes, args, nil)
}

func printCached(cni *libcni.CNIConfig, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	out := map[string]interface{}{"result": nil, "config": nil, "cniArgs": nil, "capabilityArgs": nil}
	result, err := cni.GetNetworkListCachedResult(list, rt)
	if err != nil {
		return err
	}
	if result != nil {
		out["result"] = result
	}
	config, cachedRt, err := cni.GetNetworkListCachedConfig(list, rt)
	if err != nil {
		return err
	}
	if config != nil {
		out["config"] = string(config)
	}
	if cachedRt != nil {
		out["cniArgs"] = cachedRt.Args
		out["capabilityArgs"] = cachedRt.CapabilityArgs
	}
	data, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	fmt.Println(string(data))
	return nil
}

func run(argv []string) error {
	opts, pos, err := parseCommandLine(argv)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(pos) == 0 {
		return errUsage
	}
	command, pos := pos[0], pos[1:]
	needsNetns := command == "add" || command == "check" || command == "del" || command == "cached"
	switch command {
	case "add", "check", "del", "gc", "status", "cached":
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, command)
	}
	if len(pos) > 2 || (opts.conflist == "" && len(pos) == 0) {
		return fmt.Errorf("%w: wrong number of arguments", errUsage)
	}
	var name, netns string
	switch {
	case len(pos) == 2:
		name, netns = pos[0], pos[1]
	case len(pos) == 1 && opts.conflist != "" && needsNetns:
		netns = pos[0]
	case len(pos) == 1:
		name = pos[0]
	}
	if needsNetns && netns == "" {
		return fmt.Errorf("%w: a network namespace is required for %s", errUsage, command)
	}

	list, err := loadList(opts, name)
	if err != nil {
		return err
	}

	var capArgs map[string]interface{}
	if s := os.Getenv("CAP_ARGS"); s != "" {
		if err := json.Unmarshal([]byte(s), &capArgs); err != nil {
			return fmt.Errorf("invalid CAP_ARGS: %w", err)
		}
	}
	var cniArgs [][2]string
	if s := os.Getenv("CNI_ARGS"); s != "" {
		if cniArgs, err = parseCniArgs(s); err != nil {
			return err
		}
	}
	ifName := opts.ifName
	if ifName == "" {
		ifName = os.Getenv("CNI_IFNAME")
	}
	if ifName == "" {
		ifName = "eth0"
	}
	if netns != "" {
		if netns, err = filepath.Abs(netns); err != nil {
			return err
		}
	}
	containerID := opts.containerID
	if containerID == "" && netns != "" {
		containerID = cnitoolContainerID(netns)
	}

	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), opts.cacheDir, nil)
	rt := &libcni.RuntimeConf{
		ContainerID:    containerID,
		NetNS:          netns,
		IfName:         ifName,
		Args:           cniArgs,
		CapabilityArgs: capArgs,
	}
	ctx := context.TODO()
	switch command {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if result != nil {
			if perr := result.Print(); perr != nil && err == nil {
				err = perr
			}
			fmt.Println()
		}
		return err
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	case "del":
		return cni.DelNetworkList(ctx, list, rt)
	case "gc":
		return gcNetworkList(ctx, cni, opts.cacheDir, list, opts.valid)
	case "status":
		return statusNetworkList(ctx, cni, list)
	case "cached":
		return printCached(cni, list, rt)
	}
	return nil
}

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	if errors.Is(err, errUsage) {
		if err != errUsage {
			fmt.Fprintf(os.Stderr, "golibcni: %v\n", err)
		}
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "%v\n", err)
	os.Exit(1)
}
