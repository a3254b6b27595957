namespace Qwen.Inference.Chat;

/// <summary>One earlier exchange of a ChatML conversation: what the user said and what the assistant answered.</summary>
public readonly record struct ChatTurn(string User, string Assistant);
