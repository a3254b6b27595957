namespace Qwen.Eval.Endpoints;

/// <summary>One endpoint to evaluate: a label for tables and plots, and the OpenAI-compatible base URL (ending in /v1).</summary>
/// <param name="Label">Name of the setting this endpoint serves (for example "+NTK+LogN").</param>
/// <param name="BaseUri">Base URL such as http://127.0.0.1:8080/v1/.</param>
public sealed record EndpointSpec(string Label, Uri BaseUri)
{
    /// <summary>Parses <c>[label=]url</c>; without a label the URL's authority is the label.</summary>
    /// <exception cref="FormatException">The URL is not absolute http(s).</exception>
    public static EndpointSpec Parse(string text)
    {
        var at = text.IndexOf('=', StringComparison.Ordinal);
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        var (label, url) = at > 0 && (scheme < 0 || at < scheme) ? (text[..at], text[(at + 1)..]) : (null, text);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"'{text}' is not [label=]http(s)://host:port/v1.");
        }
        var baseUri = new Uri(uri.AbsoluteUri.TrimEnd('/') + "/");
        return new EndpointSpec(label ?? uri.Authority, baseUri);
    }
}
