package convert

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// A gap is something a Dockerfile says that the spec cannot say the same
// way, so converting it would change the image. Each is an error naming
// the Dockerfile's line, and nothing is written. docs/convert.md lists
// them (a test keeps the list in step); a gap is deleted from this table
// when the spec learns the feature named in until, and its instruction is
// converted instead.
type gap struct {
	// what names the Dockerfile feature.
	what string
	// why says what the spec lacks, and what to do meanwhile.
	why string
	// until names the spec feature that closes the gap, or is empty for a
	// gap that will stay.
	until string
}

// The gaps, in the order docs/convert.md lists them.
var (
	gapOnbuild    = &gap{"ONBUILD", "the spec has no triggers that run in images built on this one", ""}
	gapSyntax     = &gap{"a # syntax= line naming another frontend", "only Dockerfiles of BuildKit's own Dockerfile frontend convert", ""}
	gapMaintainer = &gap{"MAINTAINER", "the spec sets no image author; write LABEL org.opencontainers.image.authors=... instead", ""}
	gapInlineFile = &gap{"ADD <<EOF, or a COPY with several heredocs, or a heredoc beside files or --from, --exclude or --parents", "a copy with content writes one file: write one COPY per heredoc, and COPY for an inline file ADD would write", ""}
	gapShebang    = &gap{"RUN <<EOF whose script starts with #!", "a Dockerfile runs such a script as a file of its own, mounted for the run; write it with a COPY <<EOF, then RUN it", ""}

	gapArgDefaults = &gap{"an ARG with different defaults in different stages",
		"the spec's args are global, with one default; give every declaration the same default", "stage args, issue #14"}
	gapArgOverEnv = &gap{"an ARG after an ENV of the same name",
		"in a Dockerfile the ARG's value wins from there on, in the spec the ENV's; rename one of them", "stage args, issue #14"}
	gapArgFromEnv = &gap{"an ARG default that reads an ENV variable",
		"a spec arg's default reads only the args before it", "stage args, issue #14"}
	gapOutOfScope = &gap{"a variable read where its ARG is not declared",
		"a Dockerfile reads it as empty there, the spec as the arg's value; declare the ARG in this stage (ARG NAME), or remove the reference", "stage args, issue #14"}
	gapPlatformArg = &gap{"the platform args TARGETSTAGE, BUILDOSVERSION and TARGETOSVERSION, and a default for any platform arg",
		"the spec sets only BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT and their TARGET* twins, from the build", ""}
	gapEnvSelfRef = &gap{"an ENV value that reads a variable the same ENV sets",
		"a Dockerfile reads the value from before the ENV, the spec the new one; split the ENV in two", ""}
	gapLateRead = &gap{"LABEL, EXPOSE, VOLUME or STOPSIGNAL reading a variable that a later ENV of the stage changes",
		"the spec applies the image block with the stage's final environment; move the instruction after that ENV", ""}
	gapKeyExpansion = &gap{"a $ in the name of an ENV variable or a LABEL",
		"the spec does not expand names", ""}
	gapQuoting = &gap{"a word whose quoting has no spec equivalent (quotes inside ${...}, a ${NAME/...} substitution nested in another)",
		"write the value without quotes, or with one kind of quotes around it", ""}
	gapLaterStage = &gap{"FROM or --from naming a stage defined later",
		"a Dockerfile reads it as an image of that name, the spec as the stage; rename the stage", ""}
)

// gaps lists every gap, for the docs test.
var gaps = []*gap{
	gapOnbuild, gapSyntax, gapMaintainer, gapInlineFile, gapShebang,
	gapArgDefaults, gapArgOverEnv, gapArgFromEnv, gapOutOfScope,
	gapPlatformArg, gapEnvSelfRef, gapLateRead, gapKeyExpansion, gapQuoting, gapLaterStage,
}

// commandGap returns the gap an instruction falls in by its kind or its
// flags alone, or nil. The gaps that depend on where an instruction sits
// (args, variables) are found while converting.
func commandGap(c instructions.Command) *gap {
	switch c := c.(type) {
	case *instructions.OnbuildCommand:
		return gapOnbuild
	case *instructions.MaintainerCommand:
		return gapMaintainer
	case *instructions.AddCommand:
		if len(c.SourceContents) > 0 {
			return gapInlineFile
		}
	case *instructions.CopyCommand:
		if n := len(c.SourceContents); n > 1 || n == 1 && (len(c.SourcePaths) > 0 || c.From != "" || len(c.ExcludePatterns) > 0 || c.Parents) {
			return gapInlineFile
		}
	}
	return nil
}
