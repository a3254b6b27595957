using System.Net;

namespace Qwen.Server;

/// <summary>Checks the server's command line before the host is built: unknown options and unsafe keyless listening are refused with a message that names them.</summary>
/// <remarks>
/// ASP.NET Core's command-line configuration accepts any <c>--name value</c> pair silently, so a typo such as
/// <c>--api-kye</c> would start a server without the key the operator meant to set.
/// </remarks>
public static class ServerCommandLine
{
    // Host switches ASP.NET Core itself reads.
    private static readonly string[] HostSwitches = ["--urls", "--environment", "--contentRoot", "--applicationName"];

    /// <summary>Throws when an option is neither one of <paramref name="switches"/>, a host switch, nor a configuration key (<c>--Section:Key</c>).</summary>
    /// <exception cref="ArgumentException">An unknown option; the message names it and lists the known ones.</exception>
    public static void CheckOptions(IReadOnlyList<string> args, IEnumerable<string> switches)
    {
        var known = new HashSet<string>(switches.Concat(HostSwitches), StringComparer.OrdinalIgnoreCase);
        foreach (var arg in args)
        {
            if (!arg.StartsWith('-'))
            {
                continue;
            }
            var name = arg.Split('=', 2)[0];
            if (known.Contains(name) || name.Contains(':', StringComparison.Ordinal))
            {
                continue;
            }
            throw new ArgumentException($"Unknown option '{name}'. Known options: {string.Join(", ", known.Order(StringComparer.Ordinal))} (or any configuration key as --Section:Key value).");
        }
    }

    /// <summary>Throws when a server without an API key would listen on anything but loopback.</summary>
    /// <exception cref="ArgumentException">A keyless server with a non-loopback URL; the message names the URL and the fix.</exception>
    public static void CheckKeylessListening(IEnumerable<string> urls)
    {
        foreach (var url in urls)
        {
            if (!IsLoopback(url))
            {
                throw new ArgumentException($"No API key is set, but the server would listen on '{url}', which is not loopback. Set --api-key (32+ random characters), or listen on http://127.0.0.1:<port> only.");
            }
        }
    }

    private static bool IsLoopback(string url)
    {
        // Kestrel's wildcards ("*", "+") are not valid URI hosts; they mean every interface.
        var withHost = url.Replace("://*", "://wildcard.invalid", StringComparison.Ordinal).Replace("://+", "://wildcard.invalid", StringComparison.Ordinal);
        if (!Uri.TryCreate(withHost, UriKind.Absolute, out var uri))
        {
            return false;
        }
        return string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}
