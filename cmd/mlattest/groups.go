package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// requireSubcommands makes every command of the tree that only groups others
// (the root, scan, layout, completion, and any group added later) a usage
// error when called without a known subcommand. Cobra would print the help
// and exit 0, so a typo like `mlattest scan modle x && deploy` would pass a
// gate. It runs once the tree is complete, including cobra's own help and
// completion commands.
func requireSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		requireSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, which SuggestionsFor does not apply
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString())
			return withCode(exitUsage, fmt.Errorf("%q needs a subcommand: %s", cmd.CommandPath(), strings.Join(subcommandNames(cmd), ", ")))
		}
		return withCode(exitUsage, unknownSubcommand(cmd, args[0]))
	}
}

// unknownSubcommand names the typo and the nearest subcommand(s).
func unknownSubcommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		return fmt.Errorf("%s: did you mean %q?", msg, s[0])
	}
	return errors.New(msg + ": want one of " + strings.Join(subcommandNames(cmd), ", "))
}

// subcommandNames lists the visible subcommands.
func subcommandNames(cmd *cobra.Command) []string {
	var names []string
	for _, s := range cmd.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return names
}

// strictHelp makes `mlattest help TOPIC` for a topic that does not exist a
// usage error: cobra prints "Unknown help topic" and exits 0, which a script
// would read as success.
func strictHelp(root *cobra.Command) {
	for _, h := range root.Commands() {
		if h.Name() != "help" {
			continue
		}
		show := h.Run
		h.Run = nil
		h.RunE = func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			switch {
			case err != nil || target == nil:
				return unknownSubcommand(c.Root(), args[0])
			case len(rest) > 0 && target.HasSubCommands():
				return unknownSubcommand(target, rest[0])
			case len(rest) > 0:
				return fmt.Errorf("%q has no subcommand %q", target.CommandPath(), rest[0])
			}
			show(c, args)
			return nil
		}
	}
}

// noArgs is cobra.NoArgs with a message that says what is wrong: cobra's
// reads "unknown command" for a stray operand of a command that has none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments (got %q): give inputs with its flags", cmd.CommandPath(), args[0])
	}
	return nil
}
