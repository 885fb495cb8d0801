
deepseek-chat

userhi